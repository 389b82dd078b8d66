//! The local time zone's UTC offset at an instant, for wall-clock times on screen, read the way
//! the C library reads it: `TZ` if set (a zone name under the zoneinfo directory, a TZif file
//! path, or a POSIX rule such as `CET-1CEST,M3.5.0,M10.5.0/3`), else `/etc/localtime`, else UTC.
//!
//! A zone file (TZif, RFC 8536) lists transitions and the offsets between them; past its last
//! transition its footer's POSIX rule applies, which is also what a `TZ` rule gives. The zone is
//! read once per process: a change of the system's zone while procsnap runs is not followed,
//! daylight-saving changes are (the offset is computed for each instant).

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use super::{days_from_civil, days_in_month, is_leap};

/// Where zone names (`Europe/Berlin`) are looked up.
const ZONEINFO: &str = "/usr/share/zoneinfo";

/// The local zone's offset east of UTC, in seconds, at `at`.
///
/// ```
/// let east = procsnap_cli::timefmt::local_offset(std::time::SystemTime::now());
/// assert!(east.abs() <= 26 * 3600);
/// ```
pub fn local_offset(at: SystemTime) -> i32 {
    static LOCAL: OnceLock<Zone> = OnceLock::new();
    LOCAL
        .get_or_init(|| Zone::from_env(std::env::var_os("TZ").as_deref()))
        .offset_at(unix_secs(at))
}

fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

/// A time zone: transitions, then a rule.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Zone {
    /// (UTC instant, offset from then on), in order.
    transitions: Vec<(i64, i32)>,
    /// The offset before the first transition.
    initial: i32,
    /// What applies after the last transition (or always, without transitions).
    rule: Option<Rule>,
}

impl Zone {
    /// The zone `TZ` names (`None`: `TZ` unset), falling back to UTC on anything unreadable.
    pub fn from_env(tz: Option<&std::ffi::OsStr>) -> Zone {
        let Some(tz) = tz else {
            return read_tzif("/etc/localtime").unwrap_or_default();
        };
        let tz = tz.to_string_lossy();
        let tz = tz.strip_prefix(':').unwrap_or(&tz);
        if tz.is_empty() {
            return Zone::default();
        }
        let file = if tz.starts_with('/') {
            Some(tz.to_owned())
        } else if !tz.split('/').any(|part| part == "..") {
            Some(format!("{ZONEINFO}/{tz}"))
        } else {
            None
        };
        if let Some(zone) = file.and_then(|f| read_tzif(&f)) {
            return zone;
        }
        Rule::parse(tz)
            .map(|rule| Zone {
                transitions: Vec::new(),
                initial: rule.std,
                rule: Some(rule),
            })
            .unwrap_or_default()
    }

    /// The offset east of UTC, in seconds, at `t` (seconds since the epoch).
    pub fn offset_at(&self, t: i64) -> i32 {
        let after = self.transitions.partition_point(|&(at, _)| at <= t);
        match (after, &self.rule) {
            (n, Some(rule)) if n == self.transitions.len() => rule.offset_at(t),
            (0, _) => self.initial,
            (n, _) => self.transitions[n - 1].1,
        }
    }
}

/// Reads a TZif file; `None` if it is missing or malformed.
fn read_tzif(path: &str) -> Option<Zone> {
    parse_tzif(&std::fs::read(path).ok()?)
}

/// Parses TZif data (RFC 8536): the 64-bit block of version 2 and later, with its footer rule;
/// the 32-bit block of version 1.
pub fn parse_tzif(data: &[u8]) -> Option<Zone> {
    let (v1, body) = Header::read(data)?;
    if data[4] == 0 {
        return v1.zone(body, 4, None);
    }
    let (v2, body) = Header::read(body.get(v1.block_len(4)..)?)?;
    let footer = body.get(v2.block_len(8)..)?;
    let rule = std::str::from_utf8(footer.strip_prefix(b"\n")?.split(|&b| b == b'\n').next()?)
        .ok()
        .and_then(Rule::parse);
    v2.zone(body, 8, rule)
}

/// The counts of a TZif header.
struct Header {
    isutcnt: usize,
    isstdcnt: usize,
    leapcnt: usize,
    timecnt: usize,
    typecnt: usize,
    charcnt: usize,
}

impl Header {
    /// The header at the start of `data`, and what follows it.
    fn read(data: &[u8]) -> Option<(Header, &[u8])> {
        if data.get(..4)? != b"TZif" {
            return None;
        }
        let count = |i: usize| -> Option<usize> {
            let b = data.get(20 + 4 * i..24 + 4 * i)?;
            Some(u32::from_be_bytes(b.try_into().ok()?) as usize)
        };
        let header = Header {
            isutcnt: count(0)?,
            isstdcnt: count(1)?,
            leapcnt: count(2)?,
            timecnt: count(3)?,
            typecnt: count(4)?,
            charcnt: count(5)?,
        };
        Some((header, data.get(44..)?))
    }

    /// The length of the data block with `time` bytes per transition time.
    fn block_len(&self, time: usize) -> usize {
        self.timecnt * (time + 1)
            + self.typecnt * 6
            + self.charcnt
            + self.leapcnt * (time + 4)
            + self.isstdcnt
            + self.isutcnt
    }

    fn zone(&self, body: &[u8], time: usize, rule: Option<Rule>) -> Option<Zone> {
        let times = body.get(..self.timecnt * time)?;
        let indices = body.get(self.timecnt * time..self.timecnt * (time + 1))?;
        let types = body
            .get(self.timecnt * (time + 1)..)?
            .get(..self.typecnt * 6)?;
        let utoff = |i: usize| -> Option<i32> {
            Some(i32::from_be_bytes(
                types.get(6 * i..6 * i + 4)?.try_into().ok()?,
            ))
        };
        let transitions = times
            .chunks_exact(time)
            .zip(indices)
            .map(|(t, &i)| {
                let at = match time {
                    8 => i64::from_be_bytes(t.try_into().ok()?),
                    _ => i64::from(i32::from_be_bytes(t.try_into().ok()?)),
                };
                Some((at, utoff(usize::from(i))?))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Zone {
            transitions,
            initial: utoff(0)?,
            rule,
        })
    }
}

/// A POSIX TZ rule: a standard offset, and maybe a daylight-saving offset with when it starts
/// and ends each year. Offsets are east of UTC (the string writes them west).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    std: i32,
    dst: Option<(i32, When, When)>,
}

/// A transition date and local time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Day {
    /// `Jn`: day 1..=365 of the year, February 29 never counted.
    Julian(i64),
    /// `n`: day 0..=365 of the year, February 29 counted.
    Zero(i64),
    /// `Mm.w.d`: weekday `d` (0 = Sunday) of week `w` (5 = last) of month `m`.
    Month(i64, i64, i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct When {
    day: Day,
    /// Seconds after local midnight (may be negative or past a day).
    time: i64,
}

impl Rule {
    /// Parses `std offset [dst [offset] [,start[/time],end[/time]]]`.
    pub fn parse(s: &str) -> Option<Rule> {
        let mut p = Parser(s.as_bytes());
        p.name()?;
        let std = -p.offset()?;
        if p.0.is_empty() {
            return Some(Rule { std, dst: None });
        }
        p.name()?;
        let dst = if matches!(p.0.first(), Some(b',') | None) {
            std + 3600
        } else {
            -p.offset()?
        };
        let (start, end) = if p.0.is_empty() {
            // The US rules, the C library's default for a zone without dates.
            (p_when("M3.2.0")?, p_when("M11.1.0")?)
        } else {
            p.eat(b',')?;
            let start = p.when()?;
            p.eat(b',')?;
            (start, p.when()?)
        };
        p.0.is_empty().then_some(Rule {
            std,
            dst: Some((dst, start, end)),
        })
    }

    fn offset_at(&self, t: i64) -> i32 {
        let Some((dst, start, end)) = self.dst else {
            return self.std;
        };
        let year = super::civil_from_days((t + i64::from(self.std)).div_euclid(86_400)).0;
        // A start is written in standard time, an end in daylight-saving time.
        let starts = start.local(year) - i64::from(self.std);
        let ends = end.local(year) - i64::from(dst);
        let in_dst = if starts < ends {
            starts <= t && t < ends
        } else {
            !(ends <= t && t < starts)
        };
        if in_dst { dst } else { self.std }
    }
}

fn p_when(s: &str) -> Option<When> {
    Parser(s.as_bytes()).when()
}

impl When {
    /// Seconds since the epoch of this date and time in `year`, as if local time were UTC.
    fn local(&self, year: i64) -> i64 {
        let jan1 = days_from_civil(year, 1, 1);
        let day = match self.day {
            Day::Julian(n) => jan1 + n - 1 + i64::from(is_leap(year) && n >= 60),
            Day::Zero(n) => jan1 + n,
            Day::Month(m, w, d) => {
                let first = days_from_civil(year, m, 1);
                // 1970-01-01 was a Thursday (4).
                let weekday = (first + 4).rem_euclid(7);
                let mut day = 1 + (d - weekday).rem_euclid(7) + 7 * (w - 1);
                while day > days_in_month(year, m) {
                    day -= 7;
                }
                first + day - 1
            }
        };
        day * 86_400 + self.time
    }
}

/// What is left of a TZ string.
struct Parser<'a>(&'a [u8]);

impl Parser<'_> {
    fn eat(&mut self, b: u8) -> Option<()> {
        self.0 = self.0.strip_prefix(&[b])?;
        Some(())
    }

    /// A zone abbreviation: three or more letters, or anything in `<…>`.
    fn name(&mut self) -> Option<()> {
        let len = if self.0.first() == Some(&b'<') {
            self.0.iter().position(|&b| b == b'>')? + 1
        } else {
            let n = self
                .0
                .iter()
                .take_while(|b| b.is_ascii_alphabetic())
                .count();
            (n >= 3).then_some(n)?
        };
        self.0 = &self.0[len..];
        Some(())
    }

    fn number(&mut self) -> Option<i64> {
        let n = self.0.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 || n > 4 {
            return None;
        }
        let v = std::str::from_utf8(&self.0[..n]).ok()?.parse().ok()?;
        self.0 = &self.0[n..];
        Some(v)
    }

    /// `[+-]hh[:mm[:ss]]` in seconds.
    fn hms(&mut self) -> Option<i64> {
        let sign = match self.0.first() {
            Some(b'-') => -1,
            Some(b'+') => 1,
            _ => 0,
        };
        if sign != 0 {
            self.0 = &self.0[1..];
        }
        let mut secs = self.number()? * 3600;
        for unit in [60, 1] {
            if self.eat(b':').is_none() {
                break;
            }
            secs += self.number()? * unit;
        }
        Some(if sign < 0 { -secs } else { secs })
    }

    /// An offset as written (west of UTC), in seconds.
    fn offset(&mut self) -> Option<i32> {
        i32::try_from(self.hms()?).ok()
    }

    /// `date[/time]`.
    fn when(&mut self) -> Option<When> {
        let day = match self.0.first()? {
            b'J' => {
                self.0 = &self.0[1..];
                Day::Julian(self.number().filter(|n| (1..=365).contains(n))?)
            }
            b'M' => {
                self.0 = &self.0[1..];
                let m = self.number().filter(|m| (1..=12).contains(m))?;
                self.eat(b'.')?;
                let w = self.number().filter(|w| (1..=5).contains(w))?;
                self.eat(b'.')?;
                Day::Month(m, w, self.number().filter(|d| (0..=6).contains(d))?)
            }
            _ => Day::Zero(self.number().filter(|n| (0..=365).contains(n))?),
        };
        let time = match self.eat(b'/') {
            Some(()) => self.hms()?,
            None => 2 * 3600,
        };
        Some(When { day, time })
    }
}

#[cfg(test)]
mod tests;
