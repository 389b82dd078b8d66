//! Every way a script or procsnap ends leaves nothing behind, also when a script's grandchild
//! left its process group (`setsid`, `setpgid`, a daemon's double fork): `scripts_stop`, stdin
//! EOF, SIGTERM, SIGINT and SIGHUP of `mcp`, Ctrl-C of `run`. And `mcp` exits as soon as the
//! groups are gone.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

/// Scripts whose grandchild escapes its group and writes its pid to `NAME.esc`.
const ESCAPERS: [(&str, &str); 3] = [
    (
        "setsid",
        "setsid sh -c 'echo $$ > setsid.esc; exec sleep 300' & sleep 300",
    ),
    (
        "setpgid",
        "python3 -c 'import os; os.setpgid(0, 0); open(\"setpgid.esc\", \"w\").write(str(os.getpid())); os.execvp(\"sleep\", [\"sleep\", \"300\"])' & sleep 300",
    ),
    (
        "daemon",
        "( setsid sh -c 'echo $$ > daemon.esc; exec sleep 300' & ); sleep 300",
    ),
];

fn read_pid(file: &Path) -> Option<u32> {
    std::fs::read_to_string(file).ok()?.trim().parse().ok()
}

/// The escapees' pids, once all three have started; killed on drop if still alive.
struct Escapees(Vec<(&'static str, u32)>);

impl Escapees {
    fn wait_for(p: &TempProject) -> Escapees {
        let mut pids = Vec::new();
        for (name, _) in ESCAPERS {
            let file = p.path().join(format!("{name}.esc"));
            assert!(
                eventually(TIMEOUT, || read_pid(&file).is_some()),
                "{name}: the escapee never started"
            );
            pids.push((name, read_pid(&file).unwrap()));
        }
        assert!(pids.iter().all(|&(_, pid)| alive(pid)));
        Escapees(pids)
    }

    fn assert_gone(&self, how: &str) {
        let left: Vec<_> = self.0.iter().filter(|&&(_, pid)| alive(pid)).collect();
        assert!(left.is_empty(), "{how}: escapees still running: {left:?}");
    }
}

impl Drop for Escapees {
    fn drop(&mut self) {
        for &(_, pid) in &self.0 {
            if alive(pid) {
                kill("KILL", i64::from(pid));
            }
        }
    }
}

fn mcp_with_escapers() -> (TempProject, Mcp, Escapees) {
    let p = TempProject::procfile(&ESCAPERS);
    let mut m = Mcp::start(p.path(), &["--grace", "2"]);
    m.initialize();
    for (name, _) in ESCAPERS {
        m.ok("scripts_run", json!({"name": name}));
    }
    let esc = Escapees::wait_for(&p);
    (p, m, esc)
}

#[test]
fn scripts_stop_takes_the_escapees() {
    let (_p, mut m, esc) = mcp_with_escapers();
    let status = m.ok("scripts_status", json!({}));
    for proc in status["processes"].as_array().unwrap() {
        let stopped = m.ok("scripts_stop", json!({"processId": proc["processId"]}));
        assert_eq!(stopped["status"], "stopped", "{stopped}");
    }
    esc.assert_gone("scripts_stop");
}

#[test]
fn every_way_mcp_ends_takes_the_escapees() {
    for how in ["EOF", "TERM", "INT", "HUP"] {
        let (_p, mut m, esc) = mcp_with_escapers();
        let status = if how == "EOF" {
            m.close(TIMEOUT)
        } else {
            kill(how, i64::from(m.child.id()));
            m.wait(TIMEOUT)
        };
        let status = status.unwrap_or_else(|| panic!("{how}: mcp did not exit"));
        assert!(status.success(), "{how}: {status:?}");
        esc.assert_gone(how);
    }
}

#[test]
fn ctrl_c_of_run_takes_the_escapees() {
    let p = TempProject::procfile(&ESCAPERS);
    let names: Vec<&str> = ESCAPERS.iter().map(|(n, _)| *n).collect();
    let mut child = Command::new(BIN)
        .args(["run", "--dir", p.path().to_str().unwrap(), "--grace", "2"])
        .args(&names)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let esc = Escapees::wait_for(&p);
    kill("INT", i64::from(child.id()));
    let end = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < end, "run did not exit after Ctrl-C");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
    esc.assert_gone("Ctrl-C of run");
}

/// With nothing left to stop, `mcp` exits at once on a signal: no fixed wait for a client that
/// will not send anything more.
#[test]
fn mcp_exits_as_soon_as_its_groups_are_gone() {
    let p = TempProject::procfile(&[("quick", "trap 'exit 0' TERM; while :; do sleep 0.05; done")]);
    for signal in ["TERM", "HUP"] {
        let mut m = Mcp::start(p.path(), &["--grace", "5"]);
        m.initialize();
        m.ok("scripts_run", json!({"name": "quick"}));
        let start = Instant::now();
        kill(signal, i64::from(m.child.id()));
        let status = m.wait(TIMEOUT).expect("mcp exits");
        let took = start.elapsed();
        assert!(status.success(), "{status:?}");
        // The script ends within ~50 ms of its SIGTERM; the old fixed wait was 1 s.
        assert!(
            took < Duration::from_millis(700),
            "SIG{signal}: exit took {took:?}"
        );
    }
}
