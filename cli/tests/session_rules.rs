//! The session's rules over real processes, from configurations as `up` loads them: no
//! duplicate however a policy restart races manual starts and restarts, a stop is final,
//! notices follow a failed dependency.

use std::fs;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use procsnap::Reader;
use procsnap::orchestrate::{Outcome, Phase};

use procsnap_cli::compose;
use procsnap_cli::project::{PackageManager, Project};
use procsnap_session::{
    Filter, Notice, Owner, Pace, Session, SessionConfig, SessionEvent, Stack, Started, Stopping,
};

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

fn open(cfg: &Config) -> Arc<Session> {
    let c = SessionConfig::default().grace(Duration::from_secs(1));
    Arc::new(Session::open((*cfg.stack).clone(), c).unwrap())
}

/// Unfinished processes called `name` right now, read under one pin.
fn live(session: &Session, reader: &mut Reader, name: &str) -> usize {
    reader
        .list(session.processes())
        .filter(|(p, s)| p.name() == name && !s.is_finished())
        .count()
}

/// A crash loop with no backoff, while two threads keep starting and restarting the same
/// name: at no instant are two processes of the name unfinished.
#[test]
fn a_policy_restart_racing_manual_runs_and_restarts_never_doubles_a_process() {
    let cfg = Config::new(
        "race",
        "processes:\n  w:\n    command: sleep 0.02; exit 1\n    availability:\n      restart: always\n      backoff_seconds: 0\n",
    );
    let session = open(&cfg);
    session.start_default(Owner::Detached).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mut hands = Vec::new();
    for restarter in [false, true] {
        let (session, stop) = (session.clone(), stop.clone());
        hands.push(std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                if restarter {
                    let running = session.board().unit("w").and_then(|u| u.process);
                    if let Some(id) = running
                        && session.restart(id, Some("a test")).is_ok()
                    {
                        n += 1;
                    }
                } else if let Ok(a) = session.start(&["w"], Owner::Detached)
                    && matches!(a[0], Started::New(_))
                {
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
        let n = live(&session, &mut reader, "w");
        assert!(n <= 1, "{n} processes of w unfinished at once");
        samples += 1;
        reader.repin();
    }
    stop.store(true, Ordering::Relaxed);
    let manual: usize = hands.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(
        samples > 1000 && manual > 0,
        "{samples} samples, {manual} manual starts and restarts"
    );
    session.shutdown(false);
    assert!(session.wait_idle(Duration::from_secs(10)), "settles");
}

#[test]
fn a_stop_is_final_and_a_ready_line_is_seen() {
    let cfg = Config::new(
        "adopt",
        "processes:\n  db:\n    command: echo booting; sleep 0.2; echo db is ready; sleep 30\n    ready_log_line: is ready\n    availability:\n      restart: always\n",
    );
    let session = open(&cfg);
    let Started::New(id) = session.start(&["db"], Owner::Detached).unwrap()[0].clone() else {
        panic!("nothing else runs db");
    };
    let ready = session
        .wait_for(Duration::from_secs(10), |b| {
            b.unit("db").filter(|u| u.ready).map(|u| u.process)
        })
        .expect("ready");
    assert_eq!(ready, Some(id));
    assert_eq!(session.stop(id, false, None), Stopping::Process(id));
    let phase = session
        .wait_for(Duration::from_secs(10), |b| {
            let u = b.unit("db")?;
            (!u.phase.is_live()).then_some(u.phase)
        })
        .unwrap();
    assert_eq!(
        phase,
        Phase::Done(Outcome::Stopped),
        "a stop is final, also under restart: always"
    );
}

#[test]
fn notices_and_the_board_follow_a_failed_dependency() {
    let cfg = Config::new(
        "notice",
        "processes:\n  gen:\n    command: exit 3\n  web:\n    command: sleep 30\n    depends_on:\n      gen: {condition: process_completed_successfully}\n",
    );
    let session = open(&cfg);
    let events = session.observe(Filter::All, Pace::Bounded(1024));
    session.start_default(Owner::Detached).unwrap();
    let board = session
        .wait_for(Duration::from_secs(10), |b| {
            let done = b.units.iter().all(|u| matches!(u.phase, Phase::Done(_)));
            (done && b.settled).then(|| b.clone())
        })
        .unwrap();
    let web = board.unit("web").unwrap();
    assert_eq!(web.phase, Phase::Done(Outcome::Blocked));
    assert!(board.any_failed);
    let notices: Vec<Notice> = events
        .drain(usize::MAX)
        .into_iter()
        .filter_map(|e| match e {
            SessionEvent::Notice(n) => Some(n),
            _ => None,
        })
        .collect();
    assert!(
        notices.iter().any(|n| n.name == "web"
            && n.text
                == "not started: dependency \"gen\" failed (exit code 3) (process_completed_successfully)"),
        "{notices:?}"
    );
}

/// 300 back-to-back starts of a name that ends at once: none is refused because the previous
/// run's end was still on its way (it starts once that end is taken), a running one is a
/// duplicate, and every new process is new.
#[test]
fn back_to_back_starts_of_a_quick_name_are_never_refused() {
    let cfg = Config::new("quick", "processes:\n  quick:\n    command: exit 0\n");
    let session = open(&cfg);
    let mut seen = std::collections::HashSet::new();
    for i in 0..300 {
        let answer = session
            .start(&["quick"], Owner::Detached)
            .unwrap()
            .pop()
            .unwrap();
        match answer {
            Started::New(id) => assert!(seen.insert(id), "run {i}: {id} new twice"),
            Started::Running(_) => {}
            Started::Pending { previous } => {
                let new = session
                    .wait_for(Duration::from_secs(10), |b| {
                        b.unit("quick")?.process.filter(|p| Some(*p) != previous)
                    })
                    .unwrap_or_else(|b| panic!("run {i}: no new process: {:?}", b.unit("quick")));
                seen.insert(new);
            }
            other => panic!("run {i}: {other:?}"),
        }
    }
    assert!(!seen.is_empty());
}

/// A reader that falls behind a crash loop gets every event of every run, and can name each
/// run, also the runs retention dropped meanwhile (it keeps 5 per name).
#[test]
fn a_reader_behind_retention_still_names_every_run() {
    let cfg = Config::new(
        "behind",
        "processes:\n  crash:\n    command: echo run; exit 1\n    availability:\n      restart: always\n      backoff_seconds: 0\n      max_restarts: 20\n",
    );
    let session = open(&cfg);
    let job = session.new_job();
    let events = session.observe(Filter::Owner(Owner::Job(job)), Pace::Lossless(4096));
    session.start(&["crash"], Owner::Job(job)).unwrap();
    // Read nothing until the loop is over.
    assert!(
        session
            .wait_for(Duration::from_secs(20), |b| {
                b.unit("crash")
                    .is_some_and(|u| !u.phase.is_live())
                    .then_some(())
            })
            .is_ok(),
        "the crash loop never ended"
    );
    let kept = Reader::new().list(session.processes()).count();
    assert!(kept <= 5, "retention keeps {kept} runs");
    let (mut lines, mut ends) = (0, 0);
    for ev in events.drain(usize::MAX) {
        let id = match ev {
            SessionEvent::Line { id, .. } => {
                lines += 1;
                id
            }
            SessionEvent::State { id, state } => {
                ends += usize::from(state.is_finished());
                id
            }
            _ => continue,
        };
        assert_eq!(session.name_of(id).as_deref(), Some("crash"), "{id}");
        assert_eq!(session.label_of(id), Some(format!("crash-{id}")));
    }
    // The first run and its 20 restarts: each said its line and ended, once.
    assert_eq!((lines, ends), (21, 21));
}

/// The pid of process `id`, running.
fn pid_of(session: &Session, id: procsnap::ProcId) -> u32 {
    Reader::new()
        .list(session.processes())
        .find_map(|(p, s)| (p.id() == id).then_some(s.pid))
        .flatten()
        .expect("a running process has a pid")
}

/// The state letter of `pid` in `/proc` (`T` stopped), if it exists.
fn proc_state(pid: u32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.chars().next()
}

/// A job suspended (Ctrl-Z in a joined `run`) stays suspended: a process its policy starts
/// while it is (a restart after a backoff) is suspended too, and resumed with the job.
#[test]
fn a_process_started_while_its_job_is_suspended_is_suspended() {
    let cfg = Config::new(
        "tstp",
        "processes:\n  w:\n    command: sleep 0.2; exit 1\n    availability:\n      restart: always\n      backoff_seconds: 0.5\n",
    );
    let session = open(&cfg);
    let job = session.new_job();
    let Started::New(first) = session.start(&["w"], Owner::Job(job)).unwrap()[0].clone() else {
        panic!("nothing else runs w");
    };
    session
        .wait_for(Duration::from_secs(10), |b| {
            matches!(b.unit("w")?.phase, Phase::Backoff { .. }).then_some(())
        })
        .expect("the first run ends and its restart waits");
    session.signal_job(job, libc::SIGTSTP);
    let next = session
        .wait_for(Duration::from_secs(10), |b| {
            b.unit("w")?.process.filter(|&p| p != first)
        })
        .expect("the policy restarts it");
    let pid = pid_of(&session, next);
    let deadline = Instant::now() + Duration::from_secs(10);
    while proc_state(pid) != Some('T') && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        proc_state(pid),
        Some('T'),
        "started while its job is suspended"
    );
    session.signal_job(job, libc::SIGCONT);
    session
        .wait_for(Duration::from_secs(10), |b| {
            b.unit("w")?.process.filter(|&p| p != next).map(|_| ())
        })
        .expect("resumed: it runs, ends and is restarted");
    session.end_job(job);
}

/// A suspended job's process is not probed: a stopped server fails every probe, and a probe
/// that keeps failing restarts its process. Once resumed, it is probed again.
#[test]
fn a_suspended_job_is_not_probed_into_a_restart() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = Config::new(
        "probe",
        &format!(
            "processes:\n  server:\n    command: exec python3 -m http.server {port} --bind 127.0.0.1\n    readiness_probe:\n      http_get: {{host: 127.0.0.1, port: {port}, path: /}}\n      initial_delay_seconds: 2\n      period_seconds: 0.3\n      timeout_seconds: 1\n      failure_threshold: 3\n    availability:\n      restart: always\n      backoff_seconds: 0.1\n"
        ),
    );
    let session = open(&cfg);
    let job = session.new_job();
    session.start(&["server"], Owner::Job(job)).unwrap();
    // The one that got ready (on a loaded machine, one that listened too late is restarted).
    let serving = session
        .wait_for(Duration::from_secs(30), |b| {
            b.unit("server").filter(|u| u.ready).and_then(|u| u.process)
        })
        .expect("the server gets ready");
    session.signal_job(job, libc::SIGTSTP);
    // Three failed probes (1 s each, 0.3 s apart) would have stopped it within this.
    std::thread::sleep(Duration::from_secs(5));
    let unit = session.board().unit("server").cloned().unwrap();
    assert_eq!(
        unit.process,
        Some(serving),
        "restarted while suspended: {unit:?}"
    );
    assert_eq!(unit.phase, Phase::Running, "{unit:?}");
    session.signal_job(job, libc::SIGCONT);
    // Probed again once resumed: stopped behind the session's back, it is restarted.
    let pid = pid_of(&session, serving);
    let stopped = std::process::Command::new("kill")
        .args(["-STOP", &pid.to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    session
        .wait_for(Duration::from_secs(20), |b| {
            b.unit("server")?
                .process
                .filter(|&p| p != serving)
                .map(|_| ())
        })
        .expect("probes run again after the job resumed");
    session.end_job(job);
}
