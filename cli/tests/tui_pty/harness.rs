//! The real `procsnap tui` in a pseudo-terminal, its output replayed into a `vt100` screen.
//! Tests poll the screen for what they expect (never a fixed sleep), with generous limits for
//! a loaded machine. Dropping a [`Tui`] kills it and every process group it showed.
#![allow(dead_code)]

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

use crate::common::{BIN, group_members, kill, kill_groups};

/// How long a test waits for something to show.
pub const LIMIT: Duration = Duration::from_secs(20);

pub struct Tui {
    pub child: Box<dyn Child + Send + Sync>,
    pub pid: u32,
    master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    parser: Arc<Mutex<vt100::Parser>>,
    /// Process groups seen (killed on drop if still alive).
    pub groups: HashSet<u32>,
}

impl Tui {
    /// `procsnap tui --dir DIR ARGS...` on a `cols`×`rows` terminal.
    pub fn start(dir: &Path, args: &[&str], size: (u16, u16), env: &[(&str, &str)]) -> Tui {
        // PROCSNAP_BIN: measure another build (a release binary) with the same tests.
        let bin = std::env::var("PROCSNAP_BIN").unwrap_or_else(|_| BIN.to_owned());
        let mut argv = vec!["tui".to_owned(), "--dir".to_owned()];
        argv.push(dir.to_str().expect("a UTF-8 path").to_owned());
        argv.extend(args.iter().map(|a| a.to_string()));
        Tui::spawn(&bin, &argv, size, env)
    }

    /// Any `program` with `args` on a `cols`×`rows` terminal.
    pub fn spawn(
        program: &str,
        args: &[String],
        (cols, rows): (u16, u16),
        env: &[(&str, &str)],
    ) -> Tui {
        let pty = native_pty_system();
        let pair = pty
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut cmd = CommandBuilder::new(program);
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("NO_COLOR");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).expect("spawn procsnap tui");
        drop(pair.slave);
        let pid = child.process_id().expect("pid");
        let parser = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let mut reader = pair.master.try_clone_reader().unwrap();
        let sink = parser.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().process(&buf[..n]);
            }
        });
        let writer = pair.master.take_writer().unwrap();
        Tui {
            child,
            pid,
            master: pair.master,
            writer,
            parser,
            groups: HashSet::new(),
        }
    }

    /// The screen's text, rows joined by newlines.
    pub fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Runs `f` on the vt100 screen.
    pub fn with_screen<T>(&self, f: impl FnOnce(&vt100::Screen) -> T) -> T {
        f(self.parser.lock().unwrap().screen())
    }

    /// Polls until `pred` holds for the screen; returns it. Panics with the screen after
    /// `limit`.
    pub fn wait_until(&self, what: &str, limit: Duration, pred: impl Fn(&str) -> bool) -> String {
        let end = Instant::now() + limit;
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            if Instant::now() > end {
                panic!("timed out waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for `text` on screen.
    pub fn wait_for(&self, text: &str) -> String {
        self.wait_until(text, LIMIT, |s| s.contains(text))
    }

    /// The screen row that starts (after the border and marker) with `name`.
    pub fn row(&self, name: &str) -> Option<String> {
        self.screen()
            .lines()
            .find(|l| {
                let t = l.trim_start_matches(['│', '┃', ' ', '•']);
                t.starts_with(name) && t[name.len()..].starts_with(' ')
            })
            .map(str::to_owned)
    }

    /// Waits until `name`'s row shows `word`; returns the row.
    pub fn wait_row(&self, name: &str, word: &str) -> String {
        let end = Instant::now() + LIMIT;
        loop {
            if let Some(r) = self.row(name).filter(|r| r.contains(word)) {
                return r;
            }
            if Instant::now() > end {
                panic!(
                    "timed out waiting for {name} {word}; screen:\n{}",
                    self.screen()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The pid shown in `name`'s row (the first number after the status word); it is also
    /// the process group id. Remembered for clean-up.
    pub fn pid_of(&mut self, name: &str) -> u32 {
        let row = self.wait_row(name, "running");
        let pid = row
            .split_whitespace()
            .find_map(|w| w.parse::<u32>().ok().filter(|&p| p > 1))
            .unwrap_or_else(|| panic!("no pid in {row:?}"));
        self.groups.insert(pid);
        pid
    }

    /// Resizes the terminal (the TUI gets SIGWINCH).
    pub fn resize(&mut self, cols: u16, rows: u16) {
        self.parser
            .lock()
            .unwrap()
            .screen_mut()
            .set_size(rows, cols);
        self.master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
    }

    pub fn send(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// Waits for the TUI to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<portable_pty::ExitStatus> {
        super::common::poll_for(limit, || self.child.try_wait().ok().flatten())
    }

    /// The terminal's settings now (`stty -a` on the pty).
    pub fn stty(&self) -> String {
        let tty = self.master.tty_name().expect("tty name");
        let out = std::process::Command::new("stty")
            .arg("-a")
            .stdin(std::fs::File::open(tty).unwrap())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Process groups led by the TUI's children (the watchdog's own group excluded).
    pub fn child_groups(&self) -> HashSet<u32> {
        let mut out = HashSet::new();
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            let Some((_, rest)) = stat.rsplit_once(')') else {
                continue;
            };
            let f: Vec<&str> = rest.split_whitespace().collect();
            if f[1] == self.pid.to_string() && f[2] == pid.to_string() {
                out.insert(pid);
            }
        }
        out
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            kill("KILL", i64::from(self.pid));
            let _ = self.wait_exit(Duration::from_secs(5));
        }
        kill_groups(&self.groups);
    }
}

/// True once no process of any group in `groups` is alive.
pub fn all_gone(groups: &HashSet<u32>) -> bool {
    groups.iter().all(|&g| group_members(g).is_empty())
}
