//! The process list: what can be run (the [`Catalog`]), what each row shows this frame (a
//! [`Snapshot`] read under one pin), and the sort orders `o` cycles through.

use std::collections::HashMap;
use std::sync::Arc;

use procsnap::{CommandSpec, Listed, Process, ProcessState, Reader, Status};

use crate::compose::Stack;
use crate::project::Project;
use crate::run::Target;

/// One runnable entry: a declared script or an ad-hoc `NAME=COMMAND` target.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The name shown and run under.
    pub name: String,
    /// How to run it, or why it cannot be run.
    pub spec: Result<CommandSpec, String>,
}

/// Every entry in declaration order (package.json, then Procfile, then ad-hoc targets).
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    entries: Vec<Entry>,
    index: HashMap<String, usize>,
}

impl Catalog {
    /// The project's scripts plus the ad-hoc ones among `targets`; children get
    /// `FORCE_COLOR=1` when `force_color`.
    pub fn new(project: &Project, targets: &[Target], force_color: bool) -> Catalog {
        Catalog::with_stack(project, None, targets, force_color)
    }

    /// [`new`](Self::new), with the processes configured in `stack` first (a configured
    /// process shadows a script of the same name).
    pub fn with_stack(
        project: &Project,
        stack: Option<&Stack>,
        targets: &[Target],
        force_color: bool,
    ) -> Catalog {
        let color = |spec: CommandSpec| {
            if force_color {
                spec.env("FORCE_COLOR", "1")
            } else {
                spec
            }
        };
        let mut entries: Vec<Entry> = stack
            .iter()
            .flat_map(|s| &s.procs)
            .map(|p| Entry {
                name: p.name.clone(),
                spec: Ok(color(p.spec.clone())),
            })
            .collect();
        let configured = |name: &str| stack.is_some_and(|s| s.proc(name).is_some());
        entries.extend(
            project
                .scripts
                .iter()
                .filter(|s| !configured(&s.name))
                .map(|s| Entry {
                    name: s.name.clone(),
                    spec: project.spec(s).map(color),
                }),
        );
        for t in targets {
            if project.script(&t.name).is_none() && !configured(&t.name) {
                entries.push(Entry {
                    name: t.name.clone(),
                    spec: Ok(color(t.spec.clone())),
                });
            }
        }
        Catalog::from_entries(entries)
    }

    /// A catalog of `entries` as given (the first of a repeated name wins).
    pub fn from_entries(entries: Vec<Entry>) -> Catalog {
        let mut index = HashMap::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            index.entry(e.name.clone()).or_insert(i);
        }
        Catalog { entries, index }
    }

    /// The entries, in declaration order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry called `name`.
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.index.get(name).map(|&i| &self.entries[i])
    }

    /// The position of `name` in declaration order.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }
}

/// A process as one frame sees it.
#[derive(Clone, Debug)]
pub struct Proc {
    pub process: Arc<Process>,
    pub state: ProcessState,
}

/// One row of the list: an entry and its newest process, if it was ever started.
#[derive(Clone, Debug)]
pub struct Row {
    pub name: String,
    /// Declaration order (processes of names outside the catalog come after, by id).
    pub order: usize,
    pub proc: Option<Proc>,
}

/// Everything a frame shows about processes, read under one pin.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// The rows, sorted (the "all" entry is not one of them).
    pub rows: Vec<Row>,
    /// Every registered process in id order (the "all" view merges their output).
    pub all: Vec<Arc<Process>>,
    /// How many processes are not finished (`Pending`, `Running` or `Stopping`).
    pub live: usize,
    /// What the configured processes (procsnap.yaml) show beyond their process's status, by
    /// name.
    pub marks: HashMap<String, super::orch::Mark>,
}

impl Snapshot {
    /// The row called `name`.
    pub fn row(&self, name: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.name == name)
    }

    /// The ids of the processes that are `Running`.
    pub fn running(&self) -> Vec<procsnap::ProcId> {
        self.rows
            .iter()
            .filter_map(|r| r.proc.as_ref())
            .filter(|p| p.state.is_running())
            .map(|p| p.process.id())
            .collect()
    }
}

/// Reads every process of `registry` as one consistent listing (a [`Reader`] made for this
/// frame: one pin, no lock, no pin per process; not kept, since the UI thread blocks between
/// frames and a pin held meanwhile would hold back reclamation) and builds the rows of
/// `catalog`, sorted by `sort`.
pub fn snapshot(registry: &impl Listed, catalog: &Catalog, sort: Sort) -> Snapshot {
    let mut rows: Vec<Row> = catalog
        .entries()
        .iter()
        .enumerate()
        .map(|(order, e)| Row {
            name: e.name.clone(),
            order,
            proc: None,
        })
        .collect();
    let mut live = 0;
    let all = {
        let mut reader = Reader::new();
        let mut all = Vec::new();
        for (p, state) in reader.list(registry) {
            let state = *state;
            all.push(p.clone());
            live += usize::from(!state.is_finished());
            let i = match catalog.position(p.name()) {
                Some(i) => i,
                None => match rows[catalog.entries().len()..]
                    .iter()
                    .position(|r| r.name == p.name())
                {
                    Some(j) => catalog.entries().len() + j,
                    None => {
                        rows.push(Row {
                            name: p.name().to_owned(),
                            order: rows.len(),
                            proc: None,
                        });
                        rows.len() - 1
                    }
                },
            };
            // Id order: the last process of a name is its newest.
            rows[i].proc = Some(Proc {
                process: p.clone(),
                state,
            });
        }
        all
    };
    sort_rows(&mut rows, sort);
    Snapshot {
        rows,
        all,
        live,
        marks: HashMap::new(),
    }
}

/// The orders of the process list; `o` goes to the [`next`](Sort::next).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Sort {
    /// As declared (package.json, Procfile, ad-hoc targets).
    #[default]
    Declared,
    /// By name.
    Name,
    /// Running first, then stopping, pending, failed, stopped, succeeded, never started.
    Status,
    /// Most recently started first; never started last.
    Started,
}

impl Sort {
    /// The order after this one.
    pub fn next(self) -> Sort {
        match self {
            Sort::Declared => Sort::Name,
            Sort::Name => Sort::Status,
            Sort::Status => Sort::Started,
            Sort::Started => Sort::Declared,
        }
    }

    /// The word shown in the list's title.
    pub fn label(self) -> &'static str {
        match self {
            Sort::Declared => "declared",
            Sort::Name => "name",
            Sort::Status => "status",
            Sort::Started => "started",
        }
    }
}

/// Where a status sorts under [`Sort::Status`] (never started: last).
fn status_rank(p: Option<&Proc>) -> u8 {
    match p.map(|p| p.state.status) {
        Some(Status::Running) => 0,
        Some(Status::Stopping) => 1,
        Some(Status::Pending) => 2,
        Some(Status::Failed) => 3,
        Some(Status::Stopped) => 4,
        Some(Status::Success) => 5,
        Some(_) | None => 6,
    }
}

/// Sorts `rows` by `sort`; ties keep declaration order.
pub fn sort_rows(rows: &mut [Row], sort: Sort) {
    match sort {
        Sort::Declared => rows.sort_by_key(|r| r.order),
        Sort::Name => rows.sort_by(|a, b| a.name.cmp(&b.name).then(a.order.cmp(&b.order))),
        Sort::Status => rows.sort_by_key(|r| (status_rank(r.proc.as_ref()), r.order)),
        Sort::Started => rows.sort_by(|a, b| {
            let started = |r: &Row| r.proc.as_ref().and_then(|p| p.state.started_at);
            // Newest first; `None` (never started) sorts after every time.
            started(a)
                .is_none()
                .cmp(&started(b).is_none())
                .then_with(|| started(b).cmp(&started(a)))
                .then(a.order.cmp(&b.order))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use procsnap::{Event, Exit};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    fn catalog(names: &[&str]) -> Catalog {
        Catalog::from_entries(
            names
                .iter()
                .map(|n| Entry {
                    name: n.to_string(),
                    spec: Ok(CommandSpec::shell("true")),
                })
                .collect(),
        )
    }

    fn start(r: &procsnap::Registry, name: &str, at_secs: u64) -> Arc<Process> {
        let p = r.insert(name, CommandSpec::shell("true"), 0);
        let at = UNIX_EPOCH + Duration::from_secs(at_secs);
        r.apply(p.id(), Event::Started { pid: 100, at }).unwrap();
        p
    }

    fn exit(r: &procsnap::Registry, p: &Process, code: i32) {
        let at = SystemTime::now();
        r.apply(
            p.id(),
            Event::Exited {
                exit: Exit::Code(code),
                at,
            },
        )
        .unwrap();
    }

    fn names(s: &Snapshot) -> Vec<&str> {
        s.rows.iter().map(|r| r.name.as_str()).collect()
    }

    #[test]
    fn rows_show_the_newest_process_of_each_name() {
        let r = procsnap::Registry::new();
        let c = catalog(&["web", "api", "db"]);
        let old = start(&r, "api", 10);
        exit(&r, &old, 1);
        let new = start(&r, "api", 20);
        start(&r, "adhoc", 30);
        let s = snapshot(&r, &c, Sort::Declared);
        assert_eq!(names(&s), ["web", "api", "db", "adhoc"]);
        assert!(s.rows[0].proc.is_none());
        assert_eq!(s.rows[1].proc.as_ref().unwrap().process.id(), new.id());
        assert_eq!(s.live, 2);
        assert_eq!(s.all.len(), 3);
        assert_eq!(s.running().len(), 2);
    }

    #[test]
    fn every_sort_order() {
        let r = procsnap::Registry::new();
        let c = catalog(&["b", "c", "a", "d"]);
        let b = start(&r, "b", 10);
        exit(&r, &b, 0);
        start(&r, "c", 30);
        let a = start(&r, "a", 40);
        exit(&r, &a, 2);
        let order = |sort| names(&snapshot(&r, &c, sort)).join(" ");
        assert_eq!(order(Sort::Declared), "b c a d");
        assert_eq!(order(Sort::Name), "a b c d");
        assert_eq!(order(Sort::Status), "c a b d");
        assert_eq!(order(Sort::Started), "a c b d");
        let mut s = Sort::Declared;
        let mut seen = vec![];
        for _ in 0..4 {
            seen.push(s.label());
            s = s.next();
        }
        assert_eq!(s, Sort::Declared);
        assert_eq!(seen, ["declared", "name", "status", "started"]);
    }
}
