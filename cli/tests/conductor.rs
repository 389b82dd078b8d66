//! The conductor over a real supervisor: adoption, and no duplicate however a policy restart
//! races manual runs and restarts.

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use procsnap::orchestrate::{Outcome, Phase};
use procsnap::{Reader, Reserve, Supervisor};

use procsnap_cli::compose;
use procsnap_cli::project::{PackageManager, Project};
use procsnap_session::{Conductor, Stack};

/// A configuration in a temporary directory, removed on drop.
struct Config {
    dir: PathBuf,
    stack: Arc<Stack>,
}

impl Config {
    fn new(tag: &str, yaml: &str) -> Config {
        let dir = std::env::temp_dir().join(format!(
            "procsnap-conductor-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let project = Project {
            dir: dir.clone(),
            package_manager: PackageManager::Npm,
            scripts: Vec::new(),
            warnings: Vec::new(),
        };
        let stack = compose::from_text(&project, &dir.join("procsnap.yaml"), yaml).unwrap();
        Config {
            dir,
            stack: Arc::new(stack),
        }
    }
}

impl Drop for Config {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn supervisor() -> Arc<Supervisor> {
    Arc::new(Supervisor::new().unwrap())
}

/// Unfinished processes called `name` right now, read under one pin.
fn live(sup: &Supervisor, reader: &mut Reader, name: &str) -> usize {
    reader
        .list(sup.registry())
        .filter(|(p, s)| p.name() == name && !s.is_finished())
        .count()
}

/// A crash loop with no backoff, while two threads keep running and restarting the same name
/// by hand: at no instant are two processes of the name unfinished, and the policy never
/// counts a start it did not make.
#[test]
fn a_policy_restart_racing_manual_runs_and_restarts_never_doubles_a_process() {
    let cfg = Config::new(
        "race",
        "processes:\n  w:\n    command: sleep 0.02; exit 1\n    availability:\n      restart: always\n      backoff_seconds: 0\n",
    );
    let sup = supervisor();
    let c = Conductor::start(
        sup.clone(),
        cfg.stack.clone(),
        Duration::from_secs(1),
        || {},
    )
    .unwrap();
    c.request_all();
    let stop = Arc::new(AtomicBool::new(false));
    let spec = cfg.stack.proc("w").unwrap().spec.clone();
    let mut hands = Vec::new();
    for restarter in [false, true] {
        let (sup, stop, spec) = (sup.clone(), stop.clone(), spec.clone());
        hands.push(std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                if restarter {
                    if let Some(p) = sup.registry().find_running("w") {
                        let _ = sup.restart(p.id(), Duration::from_millis(200));
                    }
                } else if let Ok(Reserve::Started(_)) = sup.run_unique("w", spec.clone()) {
                    n += 1;
                }
                std::thread::sleep(Duration::from_millis(3));
            }
            n
        }));
    }
    let mut reader = Reader::new();
    let end = Instant::now() + Duration::from_secs(3);
    let mut samples = 0u64;
    while Instant::now() < end {
        let n = live(&sup, &mut reader, "w");
        assert!(n <= 1, "{n} processes of w unfinished at once");
        samples += 1;
        reader.repin();
    }
    stop.store(true, Ordering::Relaxed);
    let manual: usize = hands.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(
        samples > 1000 && manual > 0,
        "{samples} samples, {manual} manual runs"
    );
    let total = sup.registry().len();
    assert!(
        total > manual + 10,
        "the policy restarted too: {total} processes"
    );
    c.shutdown();
    c.wait_for(Duration::from_secs(10), |b| b.settled.then_some(()))
        .expect("settles");
}

#[test]
fn a_process_started_by_hand_is_adopted_and_its_ready_line_seen() {
    let cfg = Config::new(
        "adopt",
        "processes:\n  db:\n    command: echo booting; sleep 0.2; echo db is ready; sleep 30\n    ready_log_line: is ready\n",
    );
    let sup = supervisor();
    let c = Conductor::start(
        sup.clone(),
        cfg.stack.clone(),
        Duration::from_secs(1),
        || {},
    )
    .unwrap();
    let spec = cfg.stack.proc("db").unwrap().spec.clone();
    let Reserve::Started(p) = sup.run_unique("db", spec).unwrap() else {
        panic!("nothing else runs db");
    };
    let ready = c
        .wait_for(Duration::from_secs(10), |b| {
            b.unit("db").filter(|u| u.ready).map(|u| u.process)
        })
        .expect("ready");
    assert_eq!(ready, Some(p.id()));
    sup.stop(p.id(), Duration::from_secs(1)).unwrap();
    let phase = c
        .wait_for(Duration::from_secs(10), |b| {
            let u = b.unit("db")?;
            (!u.phase.is_live()).then_some(u.phase)
        })
        .unwrap();
    assert_eq!(
        phase,
        Phase::Done(Outcome::Stopped),
        "a manual stop is final"
    );
}

#[test]
fn notices_and_the_board_follow_a_failed_dependency() {
    let cfg = Config::new(
        "notice",
        "processes:\n  gen:\n    command: exit 3\n  web:\n    command: sleep 30\n    depends_on:\n      gen: {condition: process_completed_successfully}\n",
    );
    let sup = supervisor();
    let woken = Arc::new(Mutex::new(0u32));
    let w = woken.clone();
    let c = Conductor::start(sup, cfg.stack.clone(), Duration::from_secs(1), move || {
        *w.lock().unwrap() += 1;
    })
    .unwrap();
    c.request_all();
    let board = c
        .wait_for(Duration::from_secs(10), |b| {
            let done = b.units.iter().all(|u| matches!(u.phase, Phase::Done(_)));
            (done && b.settled).then(|| b.clone())
        })
        .unwrap();
    let web = board.unit("web").unwrap();
    assert_eq!(web.phase, Phase::Done(Outcome::Blocked));
    assert!(board.any_failed);
    let notices = c.take_notices();
    assert!(
        notices.iter().any(|n| n.name == "web"
            && n.text
                == "not started: dependency \"gen\" failed (exit code 3) (process_completed_successfully)"),
        "{notices:?}"
    );
    assert!(*woken.lock().unwrap() > 0);
}
