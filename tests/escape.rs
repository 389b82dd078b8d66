//! Nothing is left behind by descendants that leave their process group: a grandchild that
//! calls `setsid`, one that calls `setpgid(0, 0)`, and a double-forked daemon are stopped with
//! their script, by `stop_all`, when the supervisor is dropped, and by the watchdog when the
//! supervising process is SIGKILLed. Processes that are not ours are never signalled.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Fixture, eventually};
use procsnap::{CommandSpec, Status};

/// Ways to leave the group; each escapee writes its pid to `esc.pid` and sleeps.
const ESCAPES: [(&str, &str); 3] = [
    (
        "setsid",
        "setsid sh -c 'echo $$ > esc.pid; exec sleep 300' & sleep 300",
    ),
    (
        "setpgid",
        "python3 -c 'import os; os.setpgid(0, 0); open(\"esc.pid\", \"w\").write(str(os.getpid())); os.execvp(\"sleep\", [\"sleep\", \"300\"])' & sleep 300",
    ),
    (
        "double fork",
        "( setsid sh -c 'echo $$ > esc.pid; exec sleep 300' & ); sleep 300",
    ),
];

/// A fresh directory for one script, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("procsnap-escape-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    /// The escapee's pid, once it has written it (killed on drop of the returned guard).
    fn escapee(&self) -> Pid {
        let file = self.0.join("esc.pid");
        assert!(
            eventually(Duration::from_secs(10), || read_pid(&file).is_some()),
            "the escapee never started"
        );
        Pid(read_pid(&file).unwrap())
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn read_pid(file: &Path) -> Option<i32> {
    std::fs::read_to_string(file).ok()?.trim().parse().ok()
}

/// An escapee's pid; SIGKILLed on drop so that a failed test leaves nothing running.
struct Pid(i32);

impl Pid {
    /// Running (not a zombie, not gone).
    fn alive(&self) -> bool {
        std::fs::read_to_string(format!("/proc/{}/stat", self.0))
            .ok()
            .and_then(|s| {
                s.rsplit_once(')')
                    .map(|(_, r)| r.split_whitespace().next() != Some("Z"))
            })
            .unwrap_or(false)
    }

    /// Its `/proc` stat line and whether it carries a tag, for failure messages.
    fn describe(&self) -> String {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.0)).unwrap_or_default();
        let environ = std::fs::read(format!("/proc/{}/environ", self.0)).unwrap_or_default();
        let tagged = environ
            .split(|&b| b == 0)
            .any(|e| e.starts_with(b"PROCSNAP_"));
        format!("{stat} (environ {} bytes, tagged: {tagged})", environ.len())
    }

    /// Its group and session differ from `leader`'s: it really left.
    fn left_group_of(&self, leader: i32) -> bool {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.0)).unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, r)| r.split_whitespace().collect())
            .unwrap_or_default();
        fields.get(2).and_then(|g| g.parse::<i32>().ok()) != Some(leader)
    }
}

impl Drop for Pid {
    fn drop(&mut self) {
        if self.alive() {
            let _ = Command::new("kill")
                .args(["-KILL", &self.0.to_string()])
                .status();
        }
    }
}

fn spawn_escaper(
    sup: &procsnap::Supervisor,
    how: &str,
    script: &str,
    dir: &Dir,
) -> (procsnap::ProcId, Pid) {
    let p = sup
        .spawn(how, CommandSpec::shell(script).cwd(&dir.0))
        .unwrap();
    let esc = dir.escapee();
    let leader = p.state().snapshot().pid.unwrap() as i32;
    assert!(
        esc.left_group_of(leader),
        "{how}: the escapee stayed in the group"
    );
    assert!(esc.alive());
    (p.id(), esc)
}

#[test]
fn stop_takes_descendants_that_left_the_group() {
    let sup = Fixture::new();
    for (how, script) in ESCAPES {
        let dir = Dir::new("stop");
        let (id, esc) = spawn_escaper(&sup, how, script, &dir);
        let state = sup.stop(id, Duration::from_secs(2)).unwrap();
        assert_eq!(state.status, Status::Stopped);
        assert!(
            !esc.alive(),
            "{how}: the escapee survived the stop: {}",
            esc.describe()
        );
    }
}

#[test]
fn stop_all_takes_descendants_that_left_the_group() {
    let sup = Fixture::new();
    let dirs: Vec<Dir> = ESCAPES.iter().map(|_| Dir::new("all")).collect();
    let escapees: Vec<(&str, Pid)> = ESCAPES
        .iter()
        .zip(&dirs)
        .map(|((how, script), dir)| (*how, spawn_escaper(&sup, how, script, dir).1))
        .collect();
    sup.stop_all(Duration::from_secs(2));
    for (how, esc) in &escapees {
        assert!(!esc.alive(), "{how}: the escapee survived stop_all");
    }
}

/// The escapee of a script that already ended on its own is taken when the supervisor is
/// dropped (its environment tag names it as ours).
#[test]
fn dropping_the_supervisor_takes_escapees_of_finished_scripts() {
    let sup = Fixture::new();
    let dir = Dir::new("drop");
    let p = sup
        .spawn(
            "daemon",
            // Ends once the escapee has left the group (until then, the group's leftovers would
            // be stopped with it).
            CommandSpec::shell(
                "setsid sh -c 'echo $$ > esc.tmp; mv esc.tmp esc.pid; exec sleep 300' & \
                 while [ ! -e esc.pid ]; do sleep 0.01; done",
            )
            .cwd(&dir.0),
        )
        .unwrap();
    let esc = dir.escapee();
    assert_eq!(sup.wait(p.id()).unwrap().status, Status::Success);
    assert!(esc.alive());
    drop(sup); // returns at once; the reaper takes the escapee within the grace (SIGTERM)
    assert!(
        eventually(Duration::from_secs(10), || !esc.alive()),
        "the escapee outlived its supervisor"
    );
}

/// A process that is not ours — not started by this supervisor, even one that carries another
/// supervisor's tag — is never signalled.
#[test]
fn strangers_are_never_signalled() {
    let dir = Dir::new("stranger");
    let mut stranger = Command::new("setsid")
        .args(["sleep", "300"])
        .env("PROCSNAP_0000000000000000", "1")
        .current_dir(&dir.0)
        .spawn()
        .unwrap();
    let stranger_pid = Pid(stranger.id() as i32);
    let sup = Fixture::new();
    let (how, script) = ESCAPES[0];
    let (id, esc) = spawn_escaper(&sup, how, script, &dir);
    sup.stop(id, Duration::from_secs(2)).unwrap();
    drop(sup);
    assert!(!esc.alive());
    assert!(stranger_pid.alive(), "a stranger was signalled");
    stranger.kill().unwrap();
    stranger.wait().unwrap();
}

const HELPER_ENV: &str = "PROCSNAP_ESCAPE_HELPER";

/// SIGKILL of the supervising process: its watchdog takes the escapees too.
#[test]
fn watchdog_takes_escapees_when_the_supervisor_is_sigkilled() {
    let mut helper = helper("escape_helper", &[]);
    let mut out = BufReader::new(helper.stdout.take().unwrap());
    let mut escapees = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "helper ended early");
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.iter().position(|w| ["ESC", "READY"].contains(w)) {
            Some(at) if words[at] == "ESC" => escapees.push(Pid(words[at + 1].parse().unwrap())),
            Some(_) => break,
            None => {}
        }
    }
    assert_eq!(escapees.len(), ESCAPES.len());
    assert!(escapees.iter().all(Pid::alive));
    helper.kill().unwrap();
    helper.wait().unwrap();
    assert!(
        eventually(Duration::from_secs(5), || escapees
            .iter()
            .all(|e| !e.alive())),
        "escapees alive 5 s after the supervisor's death: {:?}",
        escapees
            .iter()
            .filter(|e| e.alive())
            .map(|e| e.0)
            .collect::<Vec<_>>()
    );
}

/// Not a test: the helper process of the test above.
#[test]
#[ignore = "helper process, run by watchdog_takes_escapees_when_the_supervisor_is_sigkilled"]
fn escape_helper() {
    if std::env::var_os(HELPER_ENV).is_none() {
        return;
    }
    let sup = procsnap::Supervisor::with_config(common::config()).unwrap();
    let dirs: Vec<Dir> = ESCAPES.iter().map(|_| Dir::new("helper")).collect();
    for ((how, script), dir) in ESCAPES.iter().zip(&dirs) {
        let (_, esc) = spawn_escaper(&sup, how, script, dir);
        println!("ESC {}", esc.0);
        std::mem::forget(esc); // the watchdog must kill it, not our drop
    }
    println!("READY");
    std::thread::sleep(Duration::from_secs(300));
}

/// Runs the ignored test `name` of this binary as a helper process, with `env` set.
fn helper(name: &str, env: &[(&str, &str)]) -> std::process::Child {
    common::this_test_binary()
        .args([
            "--exact",
            name,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HELPER_ENV, "1")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Live processes whose environment holds `NAME=VALUE` exactly.
fn marked(mark: &str) -> Vec<i32> {
    let needle = mark.as_bytes();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|v| v == needle))
        })
        .collect()
}

/// SIGKILL at a random instant while scripts are being spawned (from several threads at
/// once): whatever was spawned is gone, also what was in the middle of its `posix_spawn` or
/// not yet recorded in the watchdog's table. 20 instants between 5 and 80 ms.
#[test]
fn sigkill_during_spawning_leaves_nothing() {
    let mark_value = format!("{}-{}", std::process::id(), line!());
    let mark = format!("PROCSNAP_TEST_MARK={mark_value}");
    let mut seed = std::process::id() as u64 ^ 0x9e37_79b9_7f4a_7c15;
    for round in 0..20 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = Duration::from_millis(5 + (seed >> 33) % 76);
        let mut helper = helper("spawn_helper", &[("PROCSNAP_TEST_MARK", &mark_value)]);
        let mut out = BufReader::new(helper.stdout.take().unwrap());
        let mut line = String::new();
        while !line.contains("SPAWNING") {
            line.clear();
            assert!(out.read_line(&mut line).unwrap() > 0, "helper ended early");
        }
        std::thread::sleep(delay);
        helper.kill().unwrap();
        helper.wait().unwrap();
        let start = Instant::now();
        let gone = eventually(Duration::from_secs(5), || marked(&mark).is_empty());
        let left = marked(&mark);
        for pid in &left {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        assert!(
            gone,
            "round {round} (SIGKILL after {delay:?}): {} survivors: {left:?}",
            left.len()
        );
        eprintln!(
            "round {round}: SIGKILL after {delay:?}, all gone {:?} later",
            start.elapsed()
        );
    }
}

/// Not a test: spawns scripts with grandchildren from 4 threads until it is killed.
#[test]
#[ignore = "helper process, run by sigkill_during_spawning_leaves_nothing"]
fn spawn_helper() {
    if std::env::var_os(HELPER_ENV).is_none() {
        return;
    }
    let sup = procsnap::Supervisor::with_config(common::config()).unwrap();
    println!("SPAWNING");
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for i in 0..50 {
                    let _ = sup.spawn(
                        &format!("s{i}"),
                        CommandSpec::shell("sleep 300 & sleep 300 & wait"),
                    );
                }
            });
        }
    });
    std::thread::sleep(Duration::from_secs(300));
}
