//! When to draw: after a change, but at most once per frame interval; otherwise only when an
//! uptime on screen changes; otherwise never (no timer at all while idle).

use std::time::{Duration, Instant};

/// The frame pacer of the event loop.
#[derive(Clone, Copy, Debug)]
pub struct Pacer {
    frame: Duration,
    last_draw: Option<Instant>,
    dirty: bool,
    tick_at: Option<Instant>,
}

impl Pacer {
    /// A pacer drawing at most once per `frame`; the first frame is due at once.
    pub fn new(frame: Duration) -> Pacer {
        Pacer {
            frame,
            last_draw: None,
            dirty: true,
            tick_at: None,
        }
    }

    /// Something on screen changed.
    pub fn changed(&mut self) {
        self.dirty = true;
    }

    /// When the loop must wake up even without a message: the next allowed frame if
    /// something changed, else the next uptime change, else never (`None`).
    pub fn wake_at(&self) -> Option<Instant> {
        if self.dirty {
            Some(self.next_frame())
        } else {
            self.tick_at
        }
    }

    fn next_frame(&self) -> Instant {
        self.last_draw.map_or_else(Instant::now, |t| t + self.frame)
    }

    /// True when a frame should be drawn at `now` (a due uptime change counts as a change).
    pub fn due(&mut self, now: Instant) -> bool {
        if self.tick_at.is_some_and(|t| t <= now) {
            self.tick_at = None;
            self.dirty = true;
        }
        self.dirty && self.last_draw.is_none_or(|t| now >= t + self.frame)
    }

    /// A frame was drawn at `now`; `tick` is how long until an uptime on it changes.
    pub fn drawn(&mut self, now: Instant, tick: Option<Duration>) {
        self.dirty = false;
        self.last_draw = Some(now);
        self.tick_at = tick.map(|d| now + d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: Duration = Duration::from_millis(33);

    #[test]
    fn idle_means_no_timer() {
        let mut p = Pacer::new(FRAME);
        let t0 = Instant::now();
        assert!(p.due(t0), "the first frame at once");
        p.drawn(t0, None);
        assert_eq!(
            p.wake_at(),
            None,
            "nothing changes by itself: sleep until a message"
        );
        assert!(!p.due(t0 + Duration::from_secs(60)));
    }

    #[test]
    fn changes_are_drawn_at_most_once_per_frame() {
        let mut p = Pacer::new(FRAME);
        let t0 = Instant::now();
        p.drawn(t0, None);
        // A flood: changes keep coming, frames come every 33 ms, never sooner.
        let mut frames = 0;
        for ms in 1..=1000 {
            p.changed();
            let now = t0 + Duration::from_millis(ms);
            if p.due(now) {
                frames += 1;
                p.drawn(now, None);
            }
        }
        assert_eq!(frames, 30, "1 s of changes: 30 frames");
        p.changed();
        assert_eq!(p.wake_at(), Some(t0 + Duration::from_millis(990) + FRAME));
    }

    #[test]
    fn an_uptime_on_screen_wakes_when_it_changes() {
        let mut p = Pacer::new(FRAME);
        let t0 = Instant::now();
        p.drawn(t0, Some(Duration::from_millis(400)));
        assert_eq!(p.wake_at(), Some(t0 + Duration::from_millis(400)));
        assert!(!p.due(t0 + Duration::from_millis(399)));
        assert!(p.due(t0 + Duration::from_millis(400)));
    }
}
