//! [`Timestamp`]: a wall-clock instant in 8 bytes.

use std::fmt;
use std::num::NonZeroU64;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A wall-clock instant: nanoseconds since the Unix epoch, never 0, so that it takes 8 bytes and
/// `Option<Timestamp>` too (a `SystemTime` takes 16). It covers 1970 to 2554; instants outside
/// are clamped to the nearest end.
///
/// ```
/// use procsnap::Timestamp;
/// use std::time::{Duration, SystemTime};
///
/// let now = SystemTime::now();
/// let t = Timestamp::from(now);
/// assert_eq!(SystemTime::from(t), now);
/// let later = Timestamp::from(now + Duration::from_millis(1500));
/// assert_eq!(later.duration_since(t), Duration::from_millis(1500));
/// assert_eq!(t.duration_since(later), Duration::ZERO); // never negative
/// assert_eq!(std::mem::size_of::<Option<Timestamp>>(), 8);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(NonZeroU64);

impl Timestamp {
    /// The current time.
    ///
    /// ```
    /// let (a, b) = (procsnap::Timestamp::now(), procsnap::Timestamp::now());
    /// assert!(b >= a);
    /// ```
    pub fn now() -> Timestamp {
        Timestamp::from(SystemTime::now())
    }

    /// Nanoseconds since the Unix epoch (at least 1).
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// let t = procsnap::Timestamp::from(SystemTime::UNIX_EPOCH + Duration::from_secs(2));
    /// assert_eq!(t.as_nanos(), 2_000_000_000);
    /// ```
    pub const fn as_nanos(self) -> u64 {
        self.0.get()
    }

    /// The time from `earlier` to `self`; zero if `earlier` is later.
    ///
    /// ```
    /// use procsnap::Timestamp;
    /// let t = Timestamp::now();
    /// assert_eq!(t.duration_since(t), std::time::Duration::ZERO);
    /// ```
    pub fn duration_since(self, earlier: Timestamp) -> Duration {
        Duration::from_nanos(self.as_nanos().saturating_sub(earlier.as_nanos()))
    }
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Timestamp {
        let nanos = t
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        Timestamp(NonZeroU64::new(nanos).unwrap_or(NonZeroU64::MIN))
    }
}

impl From<Timestamp> for SystemTime {
    fn from(t: Timestamp) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(t.as_nanos())
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = Duration::from_nanos(self.as_nanos());
        write!(f, "Timestamp({}.{:09})", d.as_secs(), d.subsec_nanos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps_outside_the_range() {
        let before = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(Timestamp::from(before).as_nanos(), 1);
        assert_eq!(Timestamp::from(UNIX_EPOCH).as_nanos(), 1);
        let far = UNIX_EPOCH + Duration::from_secs(u64::MAX / 2);
        assert_eq!(Timestamp::from(far).as_nanos(), u64::MAX);
        assert_eq!(
            format!(
                "{:?}",
                Timestamp::from(UNIX_EPOCH + Duration::from_millis(1500))
            ),
            "Timestamp(1.500000000)"
        );
    }

    #[test]
    fn orders_like_the_clock() {
        let a = Timestamp::from(UNIX_EPOCH + Duration::from_secs(5));
        let b = Timestamp::from(UNIX_EPOCH + Duration::from_secs(6));
        assert!(a < b && b.duration_since(a) == Duration::from_secs(1));
    }

    /// A `SystemTime` in the range comes back exactly, to the nanosecond.
    #[test]
    fn converts_back_to_the_same_system_time() {
        for nanos in [1, 1_500_000_000, 1_700_000_000_123_456_789] {
            let at = UNIX_EPOCH + Duration::from_nanos(nanos);
            let t = Timestamp::from(at);
            assert_eq!(t.as_nanos(), nanos);
            assert_eq!(SystemTime::from(t), at);
        }
    }
}
