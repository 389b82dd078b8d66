//! The control socket: a `scripts_status` round trip over the socket (a client of a live
//! session: request written, answer read), beside the same answer built in-process from the
//! same session in the same run, for 10 and 100 running processes.
//!
//! `cargo bench -p procsnap-cli --bench control` (p50 and p99 of 2,000 calls; µs).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use procsnap_cli::answers::status_view;
use procsnap_cli::control::client::Client;
use procsnap_cli::control::place::Place;
use procsnap_cli::control::server::{Listener, OwnerInfo, take_lock};
use procsnap_session::{Origin, Owner, Proc, Session, SessionConfig, Stack};
use serde_json::json;

const CALLS: usize = 2_000;

/// p50 and p99 of `CALLS` calls of `f`, in µs.
fn percentiles(mut f: impl FnMut()) -> (f64, f64) {
    for _ in 0..100 {
        f();
    }
    let mut us: Vec<f64> = (0..CALLS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    us.sort_by(f64::total_cmp);
    (us[CALLS / 2], us[CALLS * 99 / 100])
}

fn bench(n: usize) {
    let base =
        std::env::temp_dir().join(format!("procsnap-bench-control-{}-{n}", std::process::id()));
    let project = base.join("project");
    let run = base.join("run");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::create_dir_all(&run).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700)).unwrap();

    let session = Arc::new(
        Session::open(Stack::empty(), SessionConfig::default().watchdog(true)).expect("session"),
    );
    let procs: Vec<Proc> = (0..n)
        .map(|i| {
            let spec = procsnap::CommandSpec::new("sleep").arg("300");
            Proc::plain(&format!("s{i}"), Origin::AdHoc, "sleep 300", spec)
        })
        .collect();
    session.define_all(procs).unwrap();
    let names: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    session.start(&refs, Owner::Detached).unwrap();
    assert!(
        session
            .wait_for(Duration::from_secs(30), |b| {
                b.units.iter().all(|u| u.process.is_some()).then_some(())
            })
            .is_ok()
    );

    let place = Place::within(&run, std::fs::canonicalize(&project).unwrap());
    let lock = take_lock(&place).expect("the lock");
    let info = OwnerInfo::me("bench", &place, None);
    let listener = Listener::start(place.clone(), lock, session.clone(), &info).unwrap();
    let mut client = Client::connect(&place).expect("connected");

    let (in_p50, in_p99) = percentiles(|| {
        let s = status_view(session.processes(), None, SystemTime::now());
        assert_eq!(s.processes.len(), n);
        std::hint::black_box(serde_json::to_string(&s).unwrap());
    });
    let (sock_p50, sock_p99) = percentiles(|| {
        let s = client.call("scripts_status", json!({})).unwrap();
        assert_eq!(s["processes"].as_array().unwrap().len(), n);
    });
    println!(
        "{n:>4} processes | in-process p50 {in_p50:8.1} µs p99 {in_p99:8.1} | socket round trip p50 {sock_p50:8.1} µs p99 {sock_p99:8.1} | socket / in-process (p50) {:.1}x",
        sock_p50 / in_p50
    );
    drop(client);
    drop(listener);
    session.shutdown(true);
    session.wait_idle(Duration::from_secs(10));
    let _ = std::fs::remove_dir_all(&base);
}

fn main() {
    println!(
        "scripts_status: built in-process vs over the control socket (same session, same run)"
    );
    for n in [10, 100] {
        bench(n);
    }
}
