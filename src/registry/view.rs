//! [`Processes`]: the read-only face of a [`Registry`].

use std::sync::Arc;

use super::{ProcId, Process, Registry};
use crate::cell::Guard;

/// The processes of a [`Registry`], read-only.
///
/// A supervised registry must only get processes through the supervisor, which launches every
/// process it registers: one registered behind its back would stay `Pending` forever, and every
/// call that waits for a process to leave `Pending` (a duplicate `run_unique`, `stop`,
/// `restart`, the supervisor's drop) would wait forever with it. So the supervisor's registry is
/// reachable only through this view: every read, and the removal of finished processes.
///
/// ```
/// use procsnap::{CommandSpec, Processes, Registry};
///
/// let registry = Registry::new();
/// let p = registry.insert("dev", CommandSpec::new("true"), 0);
/// let processes = Processes::from(registry); // from now on, nothing can be added
/// assert_eq!(processes.get(p.id()).unwrap().name(), "dev");
/// assert_eq!(processes.len(), 1);
/// ```
#[derive(Debug, Default)]
pub struct Processes(Registry);

impl From<Registry> for Processes {
    fn from(registry: Registry) -> Processes {
        Processes(registry)
    }
}

impl Processes {
    /// The registry itself, for the supervisor that owns this view.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))] // the supervisor's
    pub(crate) fn registry(&self) -> &Registry {
        &self.0
    }

    /// The process with `id`, if it is registered. See [`Registry::get`].
    ///
    /// ```
    /// let r = procsnap::Registry::new();
    /// let p = r.insert("x", procsnap::CommandSpec::new("true"), 0);
    /// let view = procsnap::Processes::from(r);
    /// assert_eq!(view.get(p.id()).unwrap().name(), "x");
    /// ```
    pub fn get(&self, id: ProcId) -> Option<Arc<Process>> {
        self.0.get(id)
    }

    /// The process with `id`, read under `guard`. See [`Registry::get_in`].
    ///
    /// ```
    /// let processes = procsnap::Processes::default();
    /// let guard = procsnap::pin();
    /// assert!(processes.get_in(procsnap::ProcId::from_label("x-1").unwrap(), &guard).is_none());
    /// ```
    pub fn get_in<'g>(&self, id: ProcId, guard: &'g Guard) -> Option<&'g Arc<Process>> {
        self.0.get_in(id, guard)
    }

    /// Every process in id order, as one consistent listing. See [`Registry::list`].
    ///
    /// ```
    /// let processes = procsnap::Processes::default();
    /// assert!(processes.list(&procsnap::pin()).is_empty());
    /// ```
    #[inline]
    pub fn list<'g>(&self, guard: &'g Guard) -> &'g [Arc<Process>] {
        self.0.list(guard)
    }

    /// The unfinished process named `name`. See [`Registry::find_running`].
    ///
    /// ```
    /// assert!(procsnap::Processes::default().find_running("dev").is_none());
    /// ```
    pub fn find_running(&self, name: &str) -> Option<Arc<Process>> {
        self.0.find_running(name)
    }

    /// Removes every finished process. See [`Registry::remove_finished`].
    ///
    /// ```
    /// assert!(procsnap::Processes::default().remove_finished().is_empty());
    /// ```
    pub fn remove_finished(&self) -> Vec<Arc<Process>> {
        self.0.remove_finished()
    }

    /// Removes the finished processes of each name but the `keep` newest. See
    /// [`Registry::prune_finished`].
    ///
    /// ```
    /// assert!(procsnap::Processes::default().prune_finished(5).is_empty());
    /// ```
    pub fn prune_finished(&self, keep: usize) -> Vec<Arc<Process>> {
        self.0.prune_finished(keep)
    }

    /// How many processes are registered.
    ///
    /// ```
    /// assert_eq!(procsnap::Processes::default().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when no process is registered.
    ///
    /// ```
    /// assert!(procsnap::Processes::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(all(test, not(crossbeam_loom)))]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::cell::pin;
    use crate::spec::CommandSpec;
    use crate::state::{Event, Exit};

    fn finished(r: &Registry, name: &str) -> Arc<Process> {
        let p = r.insert(name, CommandSpec::new("true"), 0);
        let at = SystemTime::now();
        r.apply(p.id(), Event::Started { pid: 1, at }).unwrap();
        let exit = Exit::Code(0);
        r.apply(p.id(), Event::Exited { exit, at }).unwrap();
        p
    }

    fn ids(list: &[Arc<Process>]) -> Vec<ProcId> {
        list.iter().map(|p| p.id()).collect()
    }

    /// Every read and removal of the view is the registry's it was made from.
    #[test]
    fn the_view_reads_and_prunes_its_registry() {
        let r = Registry::new();
        let a = finished(&r, "a");
        let b_old = finished(&r, "b");
        let b_new = finished(&r, "b");
        let b_live = r.insert("b", CommandSpec::new("true"), 0);
        let processes = Processes::from(r);
        assert_eq!((processes.len(), processes.is_empty()), (4, false));
        assert_eq!(
            processes.get(b_live.id()).map(|p| p.id()),
            Some(b_live.id())
        );
        let guard = pin();
        assert_eq!(
            processes.get_in(a.id(), &guard).map(|p| p.id()),
            Some(a.id())
        );
        assert_eq!(
            ids(processes.list(&guard)),
            [a.id(), b_old.id(), b_new.id(), b_live.id()]
        );
        drop(guard);
        assert_eq!(
            processes.find_running("b").map(|p| p.id()),
            Some(b_live.id())
        );
        assert_eq!(ids(&processes.prune_finished(1)), [b_old.id()]);
        assert_eq!(ids(&processes.remove_finished()), [a.id(), b_new.id()]);
        assert_eq!((processes.len(), processes.is_empty()), (1, false));
        let empty = Processes::default();
        assert_eq!((empty.len(), empty.is_empty()), (0, true));
    }
}
