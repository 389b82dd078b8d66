//! [`Backoff`]: exponential delays between restarts, capped, reset after a stable run.

use std::time::Duration;

/// The delay before each restart: `base`, then twice as long after each run that ended
/// quickly, never more than `max`; a run that lasted at least `reset_after` starts the
/// sequence again at `base`. (process-compose waits `backoff_seconds` every time.)
///
/// ```
/// use procsnap::orchestrate::Backoff;
/// use std::time::Duration;
///
/// let b = Backoff::new(Duration::from_secs(1));
/// let delays: Vec<u64> = (0..8).map(|n| b.delay(n).as_secs()).collect();
/// assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60]);
/// assert!(b.is_stable(Duration::from_secs(10)));
/// assert!(!b.is_stable(Duration::from_secs(9)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Backoff {
    /// The first delay (process-compose's `backoff_seconds`; default 1 s). Zero restarts at once,
    /// every time.
    pub base: Duration,
    /// No delay is longer than this, nor shorter than `base` (default [`Backoff::MAX`]).
    pub max: Duration,
    /// A run at least this long resets the delay to `base` (default
    /// [`Backoff::RESET_AFTER`]).
    pub reset_after: Duration,
}

impl Backoff {
    /// The default cap on a delay: one minute.
    pub const MAX: Duration = Duration::from_secs(60);
    /// The default length of a run that counts as stable: ten seconds.
    pub const RESET_AFTER: Duration = Duration::from_secs(10);

    /// Delays from `base`, with the default cap and reset.
    ///
    /// ```
    /// use procsnap::orchestrate::Backoff;
    /// use std::time::Duration;
    /// assert_eq!(Backoff::new(Duration::from_millis(500)).delay(1), Duration::from_secs(1));
    /// ```
    pub fn new(base: Duration) -> Backoff {
        Backoff {
            base,
            max: Backoff::MAX,
            reset_after: Backoff::RESET_AFTER,
        }
    }

    /// With the cap set.
    ///
    /// ```
    /// use procsnap::orchestrate::Backoff;
    /// use std::time::Duration;
    /// let b = Backoff::new(Duration::from_secs(1)).max(Duration::from_secs(3));
    /// assert_eq!(b.delay(5), Duration::from_secs(3));
    /// ```
    #[must_use = "a builder: it returns the changed value and leaves nothing changed in place"]
    pub fn max(mut self, max: Duration) -> Backoff {
        self.max = max;
        self
    }

    /// With the stable-run length set.
    ///
    /// ```
    /// use procsnap::orchestrate::Backoff;
    /// use std::time::Duration;
    /// let b = Backoff::new(Duration::from_secs(1)).reset_after(Duration::from_secs(2));
    /// assert!(b.is_stable(Duration::from_secs(2)));
    /// ```
    #[must_use = "a builder: it returns the changed value and leaves nothing changed in place"]
    pub fn reset_after(mut self, after: Duration) -> Backoff {
        self.reset_after = after;
        self
    }

    /// The delay before restart number `quick + 1`, where `quick` counts the runs that
    /// ended quickly since the last stable one: `base × 2^quick`, within `base..=max`.
    ///
    /// ```
    /// use procsnap::orchestrate::Backoff;
    /// use std::time::Duration;
    /// let b = Backoff::new(Duration::from_secs(2));
    /// assert_eq!(b.delay(0), Duration::from_secs(2));
    /// assert_eq!(b.delay(u32::MAX), Duration::from_secs(60)); // no overflow
    /// assert_eq!(Backoff::new(Duration::ZERO).delay(7), Duration::ZERO);
    /// ```
    pub fn delay(&self, quick: u32) -> Duration {
        let factor = 1u32.checked_shl(quick.min(31)).unwrap_or(u32::MAX);
        let cap = self.max.max(self.base);
        self.base.checked_mul(factor).map_or(cap, |d| d.min(cap))
    }

    /// True when a run of length `ran` counts as stable (it resets the delay).
    ///
    /// ```
    /// use procsnap::orchestrate::Backoff;
    /// use std::time::Duration;
    /// assert!(!Backoff::default().is_stable(Duration::from_millis(100)));
    /// ```
    pub fn is_stable(&self, ran: Duration) -> bool {
        ran >= self.reset_after
    }
}

impl Default for Backoff {
    /// process-compose's default `backoff_seconds`: one second.
    fn default() -> Backoff {
        Backoff::new(Duration::from_secs(1))
    }
}
