//! The one clock a frame is drawn at, and how times and uptimes are written on screen.
//!
//! A frame takes "now" once ([`Clock::now`]), so every uptime on it is computed at the same
//! instant, and tests pass a fixed clock so that snapshots are stable.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// "Now" and the local UTC offset to show times in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    /// The instant the frame is drawn at.
    pub now: SystemTime,
    /// Seconds east of UTC for wall-clock times.
    pub offset_secs: i32,
}

impl Clock {
    /// The system clock and the local time zone's current offset.
    pub fn system() -> Clock {
        let now = SystemTime::now();
        Clock {
            now,
            offset_secs: crate::timefmt::local_offset(now),
        }
    }

    /// A fixed instant in UTC (tests and benchmarks).
    pub fn fixed(now: SystemTime) -> Clock {
        Clock {
            now,
            offset_secs: 0,
        }
    }

    /// Seconds since midnight, local time, and the milliseconds.
    fn day_time(&self, t: SystemTime) -> (u64, u32) {
        let since = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
        let local = since.as_secs() as i64 + i64::from(self.offset_secs);
        (local.rem_euclid(86_400) as u64, since.subsec_millis())
    }

    /// `HH:MM:SS`, local time.
    pub fn hms(&self, t: impl Into<SystemTime>) -> String {
        let (s, _) = self.day_time(t.into());
        format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    }

    /// `HH:MM:SS.mmm`, local time.
    pub fn hms_millis(&self, t: impl Into<SystemTime>) -> String {
        let (s, ms) = self.day_time(t.into());
        format!("{:02}:{:02}:{:02}.{ms:03}", s / 3600, s / 60 % 60, s % 60)
    }
}

/// Whole seconds since the epoch.
fn whole_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The uptime shown for a process started at `started` when the frame is drawn at `now`:
/// whole wall-clock seconds between the two, so every uptime on screen changes at the same
/// instant (the start of a second) and one redraw a second updates them all.
pub fn shown_uptime(started: impl Into<SystemTime>, now: SystemTime) -> Duration {
    Duration::from_secs(whole_secs(now).saturating_sub(whole_secs(started.into())))
}

/// How long after `now` a [`shown_uptime`] of `shown` reads differently.
pub fn uptime_changes_in(shown: Duration, now: SystemTime) -> Duration {
    let into = now.duration_since(UNIX_EPOCH).map_or(Duration::ZERO, |d| {
        Duration::from_nanos(u64::from(d.subsec_nanos()))
    });
    next_change(shown).saturating_sub(into)
}

/// An uptime or run time to the second: `0s`, `42s`, `1m05s`, `2h03m`, `3d04h`.
pub fn uptime(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else if s < 86_400 {
        format!("{}h{:02}m", s / 3600, s / 60 % 60)
    } else {
        format!("{}d{:02}h", s / 86_400, s / 3600 % 24)
    }
}

/// How long until [`uptime`]`(d)` shows something else: the next whole second under an hour,
/// the next whole minute under a day, the next whole hour after that. The UI sleeps this long
/// (no faster timer) while an uptime is on screen.
pub fn next_change(d: Duration) -> Duration {
    let unit = match d.as_secs() {
        0..3600 => 1,
        3600..86_400 => 60,
        _ => 3600,
    };
    let unit = Duration::from_secs(unit);
    let into = Duration::from_nanos((d.as_nanos() % unit.as_nanos()) as u64);
    unit - into
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptimes_are_to_the_second() {
        let s = Duration::from_secs;
        assert_eq!(uptime(Duration::from_millis(999)), "0s");
        assert_eq!(uptime(s(42)), "42s");
        assert_eq!(uptime(s(65)), "1m05s");
        assert_eq!(uptime(s(2 * 3600 + 3 * 60 + 59)), "2h03m");
        assert_eq!(uptime(s(3 * 86_400 + 4 * 3600)), "3d04h");
    }

    #[test]
    fn the_next_change_is_when_the_text_changes() {
        let ms = Duration::from_millis;
        assert_eq!(next_change(ms(1_250)), ms(750));
        assert_eq!(next_change(ms(0)), ms(1000));
        assert_eq!(next_change(ms(3_600_000 + 1_000)), ms(59_000));
        assert_eq!(next_change(ms(86_400_000)), ms(3_600_000));
        // Just before the change, the text is still the old one; just after, the new one.
        let d = ms(59_400);
        let before = d + next_change(d) - ms(1);
        assert_eq!(uptime(before), uptime(d));
        assert_ne!(uptime(d + next_change(d)), uptime(d));
    }

    #[test]
    fn every_uptime_changes_at_the_start_of_a_second() {
        let at = |ms: u64| UNIX_EPOCH + Duration::from_millis(ms);
        let now = at(10_250);
        // Started at different fractions of a second: all change 750 ms from now.
        for started in [at(3_000), at(3_100), at(3_999)] {
            let shown = shown_uptime(started, now);
            assert_eq!(shown, Duration::from_secs(7));
            assert_eq!(uptime_changes_in(shown, now), Duration::from_millis(750));
        }
        assert_eq!(
            shown_uptime(at(20_000), now),
            Duration::ZERO,
            "clock went back"
        );
        // Past an hour, the text changes at the next whole minute of uptime.
        let started = at(0);
        let now = at(3_600_000 + 30_500);
        let shown = shown_uptime(started, now);
        assert_eq!(uptime_changes_in(shown, now), Duration::from_millis(29_500));
    }

    #[test]
    fn wall_times_use_the_offset() {
        let t = UNIX_EPOCH + Duration::from_millis(3_723_045); // 01:02:03.045 UTC
        let utc = Clock::fixed(t);
        assert_eq!(utc.hms(t), "01:02:03");
        assert_eq!(utc.hms_millis(t), "01:02:03.045");
        let east = Clock {
            offset_secs: 2 * 3600,
            ..utc
        };
        assert_eq!(east.hms(t), "03:02:03");
        let west = Clock {
            offset_secs: -2 * 3600,
            ..utc
        };
        assert_eq!(west.hms(t), "23:02:03");
    }
}
