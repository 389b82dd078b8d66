//! [`Plan`]: the configured processes, their dependencies, readiness checks and restart
//! policies, checked once (names, dependencies, cycles, conditions that can never hold).

use std::collections::HashMap;
use std::fmt;

use super::config::{Condition, UnitConfig};

/// A process of a [`Plan`], by position (declaration order).
///
/// ```
/// use procsnap::orchestrate::{Plan, UnitConfig};
/// let plan = Plan::new(vec![UnitConfig::new("db"), UnitConfig::new("api")]).unwrap();
/// let api = plan.find("api").unwrap();
/// assert_eq!((api.index(), plan.unit(api).name.as_str()), (1, "api"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitId(pub(crate) usize);

impl UnitId {
    /// The position in the plan.
    ///
    /// ```
    /// use procsnap::orchestrate::{Plan, UnitConfig};
    /// let plan = Plan::new(vec![UnitConfig::new("only")]).unwrap();
    /// assert_eq!(plan.find("only").unwrap().index(), 0);
    /// ```
    pub const fn index(self) -> usize {
        self.0
    }
}

/// What a dependency waits for, once `Default` and `Healthy` are resolved against the
/// dependency's checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Gate {
    Started,
    /// Every readiness check of the dependency passed.
    Ready,
    LogReady,
    ProbeReady,
    Completed,
    CompletedOk,
}

/// A dependency edge after checking: the unit waited for, the gate, and the condition as
/// configured (for messages).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Edge {
    pub(crate) dep: UnitId,
    pub(crate) gate: Gate,
    pub(crate) condition: Condition,
}

/// Why a set of [`UnitConfig`]s is not a plan. Each names the process (and the dependency) by
/// position, so a caller that read them from a file can point at the line.
///
/// ```
/// use procsnap::orchestrate::{Condition, Plan, PlanError, UnitConfig};
/// let e = Plan::new(vec![UnitConfig::new("api").depends_on("db", Condition::Started)]).unwrap_err();
/// assert_eq!(e.position(), (0, Some(0)));
/// assert_eq!(e.to_string(), r#""api" depends on "db", which is not a configured process"#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlanError {
    /// Two processes share a name.
    DuplicateName {
        /// The second one's position.
        unit: usize,
        /// The name.
        name: String,
    },
    /// A dependency names no process of the plan.
    UnknownDependency {
        /// The process that depends.
        unit: usize,
        /// The dependency's position in its list.
        dependency: usize,
        /// The name of the process that depends.
        process: String,
        /// The name it gives.
        name: String,
    },
    /// The dependencies go round: each process of `path` waits for the next, and the last for
    /// the first (a process that waits for itself is a cycle of one).
    Cycle {
        /// The process names, in waiting order.
        path: Vec<String>,
        /// The process whose dependency closes the cycle, and that dependency's position.
        unit: usize,
        /// The dependency's position in that process's list.
        dependency: usize,
    },
    /// The condition can never hold: `process_log_ready` on a process without a ready log
    /// line, `process_healthy` on one without a probe or a ready log line.
    NeverReady {
        /// The process that depends.
        unit: usize,
        /// The dependency's position in its list.
        dependency: usize,
        /// The text of the whole complaint.
        why: String,
    },
}

impl PlanError {
    /// The process the error is about, and the dependency if it is about one: for pointing
    /// at a line.
    ///
    /// ```
    /// use procsnap::orchestrate::{Condition, Plan, UnitConfig};
    /// let e = Plan::new(vec![UnitConfig::new("a").depends_on("a", Condition::Started)]).unwrap_err();
    /// assert_eq!(e.position(), (0, Some(0)));
    /// ```
    pub fn position(&self) -> (usize, Option<usize>) {
        match self {
            PlanError::DuplicateName { unit, .. } => (*unit, None),
            PlanError::UnknownDependency {
                unit, dependency, ..
            }
            | PlanError::Cycle {
                unit, dependency, ..
            }
            | PlanError::NeverReady {
                unit, dependency, ..
            } => (*unit, Some(*dependency)),
        }
    }
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::DuplicateName { name, .. } => {
                write!(f, "{name:?} is configured twice")
            }
            PlanError::UnknownDependency { process, name, .. } => write!(
                f,
                "{process:?} depends on {name:?}, which is not a configured process"
            ),
            PlanError::Cycle { path, .. } => {
                write!(f, "dependency cycle: ")?;
                for name in path {
                    write!(f, "{name} → ")?;
                }
                write!(f, "{}", path.first().map_or("", String::as_str))
            }
            PlanError::NeverReady { why, .. } => f.write_str(why),
        }
    }
}

impl std::error::Error for PlanError {}

/// The configured processes, checked: unique names, known dependencies, no cycle, and no
/// condition that can never hold. Built once; the [`Orchestrator`](super::Orchestrator)
/// decides from it.
///
/// ```
/// use procsnap::orchestrate::{Condition, Plan, UnitConfig};
/// let plan = Plan::new(vec![
///     UnitConfig::new("db").ready_log_line(true),
///     UnitConfig::new("api").depends_on("db", Condition::Default),
/// ])
/// .unwrap();
/// let order: Vec<&str> = plan.start_order().iter().map(|&u| plan.unit(u).name.as_str()).collect();
/// assert_eq!(order, ["db", "api"]);
/// ```
#[derive(Clone, Debug)]
pub struct Plan {
    units: Vec<UnitConfig>,
    index: HashMap<String, UnitId>,
    edges: Vec<Vec<Edge>>,
    dependents: Vec<Vec<UnitId>>,
    order: Vec<UnitId>,
}

impl Plan {
    /// Checks `units` and builds the plan, or says what is wrong (the first problem found, in
    /// declaration order).
    ///
    /// # Errors
    ///
    /// A [`PlanError`] for the first problem found: a name used twice, a dependency on an
    /// unknown unit, a dependency cycle, or a condition that can never hold.
    ///
    /// ```
    /// use procsnap::orchestrate::{Condition, Plan, UnitConfig};
    /// let e = Plan::new(vec![
    ///     UnitConfig::new("a").depends_on("b", Condition::Started),
    ///     UnitConfig::new("b").depends_on("a", Condition::Started),
    /// ])
    /// .unwrap_err();
    /// assert_eq!(e.to_string(), "dependency cycle: a → b → a");
    /// ```
    pub fn new(units: Vec<UnitConfig>) -> Result<Plan, PlanError> {
        let mut index = HashMap::with_capacity(units.len());
        for (i, u) in units.iter().enumerate() {
            if index.insert(u.name.clone(), UnitId(i)).is_some() {
                return Err(PlanError::DuplicateName {
                    unit: i,
                    name: u.name.clone(),
                });
            }
        }
        let mut edges = Vec::with_capacity(units.len());
        for (i, u) in units.iter().enumerate() {
            edges.push(edges_of(i, u, &index, &units)?);
        }
        let order = topological(&units, &edges)?;
        let mut dependents = vec![Vec::new(); units.len()];
        for (i, out) in edges.iter().enumerate() {
            for e in out {
                if !dependents[e.dep.0].contains(&UnitId(i)) {
                    dependents[e.dep.0].push(UnitId(i));
                }
            }
        }
        Ok(Plan {
            units,
            index,
            edges,
            dependents,
            order,
        })
    }

    /// Appends `unit` (a process added while the plan runs): its dependencies must already
    /// be in the plan, so no cycle can form, and its name must be new. Nothing else changes:
    /// every [`UnitId`] given out so far still means the same process.
    ///
    /// ```
    /// use procsnap::orchestrate::{Condition, Plan, PlanError, UnitConfig};
    /// let mut plan = Plan::new(vec![UnitConfig::new("db")]).unwrap();
    /// let api = plan.add(UnitConfig::new("api").depends_on("db", Condition::Started)).unwrap();
    /// assert_eq!(plan.start_order(), [plan.find("db").unwrap(), api]);
    /// assert!(matches!(plan.add(UnitConfig::new("db")), Err(PlanError::DuplicateName { .. })));
    /// ```
    pub fn add(&mut self, unit: UnitConfig) -> Result<UnitId, PlanError> {
        let id = UnitId(self.units.len());
        if self.index.contains_key(&unit.name) {
            return Err(PlanError::DuplicateName {
                unit: id.0,
                name: unit.name,
            });
        }
        let out = edges_of(id.0, &unit, &self.index, &self.units)?;
        for e in &out {
            if !self.dependents[e.dep.0].contains(&id) {
                self.dependents[e.dep.0].push(id);
            }
        }
        self.index.insert(unit.name.clone(), id);
        self.units.push(unit);
        self.edges.push(out);
        self.dependents.push(Vec::new());
        self.order.push(id);
        Ok(id)
    }

    /// The process called `name`.
    ///
    /// ```
    /// use procsnap::orchestrate::{Plan, UnitConfig};
    /// let plan = Plan::new(vec![UnitConfig::new("db")]).unwrap();
    /// assert!(plan.find("db").is_some() && plan.find("web").is_none());
    /// ```
    pub fn find(&self, name: &str) -> Option<UnitId> {
        self.index.get(name).copied()
    }

    /// The settings of `unit`.
    ///
    /// # Panics
    ///
    /// If `unit` is not of this plan.
    ///
    /// ```
    /// use procsnap::orchestrate::{Plan, UnitConfig};
    /// let plan = Plan::new(vec![UnitConfig::new("db").max_restarts(2)]).unwrap();
    /// assert_eq!(plan.unit(plan.find("db").unwrap()).max_restarts, 2);
    /// ```
    pub fn unit(&self, unit: UnitId) -> &UnitConfig {
        &self.units[unit.0]
    }

    /// Every process, in declaration order.
    ///
    /// ```
    /// use procsnap::orchestrate::{Plan, UnitConfig};
    /// let plan = Plan::new(vec![UnitConfig::new("a"), UnitConfig::new("b")]).unwrap();
    /// assert_eq!(plan.ids().count(), 2);
    /// ```
    pub fn ids(&self) -> impl ExactSizeIterator<Item = UnitId> + '_ {
        (0..self.units.len()).map(UnitId)
    }

    /// How many processes the plan has.
    ///
    /// ```
    /// let plan = procsnap::orchestrate::Plan::new(Vec::new()).unwrap();
    /// assert!(plan.is_empty() && plan.len() == 0);
    /// ```
    pub fn len(&self) -> usize {
        self.units.len()
    }

    /// True for a plan of no process.
    ///
    /// ```
    /// assert!(procsnap::orchestrate::Plan::new(Vec::new()).unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }

    /// Every process, dependencies before the processes that wait for them (declaration order
    /// among those that do not depend on each other).
    ///
    /// ```
    /// use procsnap::orchestrate::{Condition, Plan, UnitConfig};
    /// let plan = Plan::new(vec![
    ///     UnitConfig::new("web").depends_on("api", Condition::Started),
    ///     UnitConfig::new("api"),
    /// ])
    /// .unwrap();
    /// assert_eq!(plan.start_order()[0], plan.find("api").unwrap());
    /// ```
    pub fn start_order(&self) -> &[UnitId] {
        &self.order
    }

    /// The processes `unit` waits for.
    ///
    /// ```
    /// use procsnap::orchestrate::{Condition, Plan, UnitConfig};
    /// let plan = Plan::new(vec![
    ///     UnitConfig::new("db"),
    ///     UnitConfig::new("api").depends_on("db", Condition::Started),
    /// ])
    /// .unwrap();
    /// let deps: Vec<_> = plan.dependencies(plan.find("api").unwrap()).collect();
    /// assert_eq!(deps, [plan.find("db").unwrap()]);
    /// ```
    pub fn dependencies(&self, unit: UnitId) -> impl Iterator<Item = UnitId> + '_ {
        self.edges[unit.0].iter().map(|e| e.dep)
    }

    /// The processes that wait for `unit`.
    ///
    /// ```
    /// use procsnap::orchestrate::{Condition, Plan, UnitConfig};
    /// let plan = Plan::new(vec![
    ///     UnitConfig::new("db"),
    ///     UnitConfig::new("api").depends_on("db", Condition::Started),
    /// ])
    /// .unwrap();
    /// assert_eq!(plan.dependents(plan.find("db").unwrap()), [plan.find("api").unwrap()]);
    /// ```
    pub fn dependents(&self, unit: UnitId) -> &[UnitId] {
        &self.dependents[unit.0]
    }

    /// `names` and everything they depend on, in start order; an unknown name is returned as
    /// the error.
    ///
    /// # Errors
    ///
    /// The first name that is not a unit of the plan.
    ///
    /// ```
    /// use procsnap::orchestrate::{Condition, Plan, UnitConfig};
    /// let plan = Plan::new(vec![
    ///     UnitConfig::new("db"),
    ///     UnitConfig::new("api").depends_on("db", Condition::Started),
    ///     UnitConfig::new("docs"),
    /// ])
    /// .unwrap();
    /// let c = plan.closure(["api"]).unwrap();
    /// assert_eq!(c, [plan.find("db").unwrap(), plan.find("api").unwrap()]);
    /// assert_eq!(plan.closure(["nope"]).unwrap_err(), "nope");
    /// ```
    pub fn closure<'n>(
        &self,
        names: impl IntoIterator<Item = &'n str>,
    ) -> Result<Vec<UnitId>, &'n str> {
        let mut roots = Vec::new();
        for n in names {
            roots.push(self.find(n).ok_or(n)?);
        }
        Ok(self.closure_of(&roots))
    }

    /// `units` and everything they depend on, in start order.
    pub(crate) fn closure_of(&self, units: &[UnitId]) -> Vec<UnitId> {
        let mut wanted = vec![false; self.units.len()];
        let mut stack = units.to_vec();
        while let Some(u) = stack.pop() {
            if !std::mem::replace(&mut wanted[u.0], true) {
                stack.extend(self.dependencies(u));
            }
        }
        self.order.iter().copied().filter(|u| wanted[u.0]).collect()
    }

    /// Every process that is not [`disabled`](UnitConfig::disabled), and what they depend on.
    ///
    /// ```
    /// use procsnap::orchestrate::{Plan, UnitConfig};
    /// let plan = Plan::new(vec![UnitConfig::new("a"), UnitConfig::new("b").disabled(true)]).unwrap();
    /// assert_eq!(plan.default_set(), [plan.find("a").unwrap()]);
    /// ```
    pub fn default_set(&self) -> Vec<UnitId> {
        let names = self
            .units
            .iter()
            .filter(|u| !u.disabled)
            .map(|u| u.name.as_str());
        self.closure(names).unwrap_or_default()
    }

    pub(crate) fn edges(&self, unit: UnitId) -> &[Edge] {
        &self.edges[unit.0]
    }
}

/// The checked dependencies of `u` (at position `i`), looked up in `index` over `units`.
fn edges_of(
    i: usize,
    u: &UnitConfig,
    index: &HashMap<String, UnitId>,
    units: &[UnitConfig],
) -> Result<Vec<Edge>, PlanError> {
    let mut out = Vec::with_capacity(u.depends_on.len());
    for (j, d) in u.depends_on.iter().enumerate() {
        let Some(&dep) = index.get(&d.name) else {
            return Err(PlanError::UnknownDependency {
                unit: i,
                dependency: j,
                process: u.name.clone(),
                name: d.name.clone(),
            });
        };
        let gate =
            gate(&u.name, &units[dep.0], d.condition).map_err(|why| PlanError::NeverReady {
                unit: i,
                dependency: j,
                why,
            })?;
        out.push(Edge {
            dep,
            gate,
            condition: d.condition,
        });
    }
    Ok(out)
}

/// What `condition` on `dep` waits for, or why it can never hold.
fn gate(unit: &str, dep: &UnitConfig, condition: Condition) -> Result<Gate, String> {
    Ok(match condition {
        Condition::Default if dep.has_readiness() => Gate::Ready,
        Condition::Default | Condition::Started => Gate::Started,
        Condition::Healthy if dep.probe.is_some() => Gate::ProbeReady,
        Condition::Healthy if dep.ready_log_line => Gate::LogReady,
        Condition::Healthy => {
            return Err(format!(
                "{unit:?} waits for {:?} to be healthy (process_healthy), but {:?} has no \
                 readiness_probe and no ready_log_line: it can never become healthy",
                dep.name, dep.name
            ));
        }
        Condition::LogReady if dep.ready_log_line => Gate::LogReady,
        Condition::LogReady => {
            return Err(format!(
                "{unit:?} waits for {:?}'s ready log line (process_log_ready), but {:?} has \
                 no ready_log_line",
                dep.name, dep.name
            ));
        }
        Condition::Completed => Gate::Completed,
        Condition::CompletedSuccessfully => Gate::CompletedOk,
    })
}

/// Depth-first topological order (dependencies first, declaration order otherwise), or the
/// first cycle met.
fn topological(units: &[UnitConfig], edges: &[Vec<Edge>]) -> Result<Vec<UnitId>, PlanError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut mark = vec![Mark::New; units.len()];
    let mut order = Vec::with_capacity(units.len());
    for root in 0..units.len() {
        if mark[root] != Mark::New {
            continue;
        }
        // (unit, next edge to look at); the stack is the current path.
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        mark[root] = Mark::Open;
        while let Some(&mut (u, ref mut next)) = stack.last_mut() {
            if let Some(e) = edges[u].get(*next) {
                let j = *next;
                *next += 1;
                let d = e.dep.0;
                match mark[d] {
                    Mark::New => {
                        mark[d] = Mark::Open;
                        stack.push((d, 0));
                    }
                    Mark::Open => {
                        let from = stack.iter().position(|&(s, _)| s == d).unwrap_or(0);
                        let path = stack[from..]
                            .iter()
                            .map(|&(s, _)| units[s].name.clone())
                            .collect();
                        return Err(PlanError::Cycle {
                            path,
                            unit: u,
                            dependency: j,
                        });
                    }
                    Mark::Done => {}
                }
            } else {
                mark[u] = Mark::Done;
                order.push(UnitId(u));
                stack.pop();
            }
        }
    }
    Ok(order)
}
