//! Times on the wire (RFC 3339, UTC, milliseconds), durations for people, and the local time
//! zone's offset for wall-clock times on screen ([`local_offset`]).
//!
//! A dependency-free civil-date conversion (Howard Hinnant's `days_from_civil`) keeps the front
//! crate small; parsing accepts any RFC 3339 offset (`Z`, `+02:00`) and fractional seconds.

mod zone;

pub use zone::local_offset;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `2026-05-01T12:34:56.789Z`. Times before 1970 are clamped to the epoch.
///
/// Written digit by digit: `scripts_status` formats two of these per process, and `format!`
/// took ~225 ns each (half the cost of a status entry).
pub fn rfc3339(t: impl Into<SystemTime>) -> String {
    let d = t
        .into()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, day) = civil_from_days(days);
    fn push(out: &mut String, n: i64, width: u32) {
        for i in (0..width).rev() {
            let digit = (n / 10i64.pow(i)) % 10;
            out.push(char::from(b'0' + digit as u8));
        }
    }
    let mut out = String::with_capacity(24);
    push(&mut out, y.clamp(0, 9999), 4);
    let fields = [
        ('-', m, 2),
        ('-', day, 2),
        ('T', rem / 3600, 2),
        (':', rem % 3600 / 60, 2),
        (':', rem % 60, 2),
        ('.', i64::from(d.subsec_millis()), 3),
    ];
    for (sep, n, width) in fields {
        out.push(sep);
        push(&mut out, n, width);
    }
    out.push('Z');
    out
}

/// Parses an RFC 3339 date-time such as `2026-05-01T12:34:56Z` or
/// `2026-05-01t14:34:56.5+02:00`. Also accepts a space instead of `T`.
pub fn parse_rfc3339(s: &str) -> Result<SystemTime, String> {
    let bad = || format!("{s:?} is not an RFC 3339 time (e.g. 2026-05-01T12:34:56Z)");
    let b = s.as_bytes();
    if b.len() < 20 || !s.is_ascii() {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| -> Result<i64, String> {
        let part = &s[r];
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse::<i64>().map_err(|_| bad())
        } else {
            Err(bad())
        }
    };
    if b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(bad());
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60
    {
        return Err(bad());
    }
    let mut i = 19;
    let mut nanos: i64 = 0;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return Err(bad());
        }
        let frac = &s[start..i.min(start + 9)];
        nanos = frac.parse::<i64>().map_err(|_| bad())? * 10i64.pow(9 - frac.len() as u32);
    }
    let offset = match &s[i..] {
        "Z" | "z" => 0,
        rest if rest.len() == 6
            && matches!(rest.as_bytes()[0], b'+' | b'-')
            && rest.as_bytes()[3] == b':' =>
        {
            let oh = num(i + 1..i + 3)?;
            let om = num(i + 4..i + 6)?;
            if oh > 23 || om > 59 {
                return Err(bad());
            }
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            sign * (oh * 3600 + om * 60)
        }
        _ => return Err(bad()),
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec.min(59) - offset;
    if secs < 0 {
        return Ok(UNIX_EPOCH);
    }
    Ok(UNIX_EPOCH + Duration::new(secs as u64, nanos as u32))
}

pub use procsnap_session::fmt::human;

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64, millis: u32) -> SystemTime {
        UNIX_EPOCH + Duration::new(secs, millis * 1_000_000)
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(at(951_782_400, 5)), "2000-02-29T00:00:00.005Z");
        assert_eq!(rfc3339(at(1_777_638_896, 789)), "2026-05-01T12:34:56.789Z");
    }

    #[test]
    fn parses_offsets_and_fractions() {
        assert_eq!(
            parse_rfc3339("2026-05-01T12:34:56Z").unwrap(),
            at(1_777_638_896, 0)
        );
        assert_eq!(
            parse_rfc3339("2026-05-01T14:34:56.789+02:00").unwrap(),
            at(1_777_638_896, 789)
        );
        assert_eq!(
            parse_rfc3339("2026-05-01 10:04:56.789-02:30").unwrap(),
            at(1_777_638_896, 789)
        );
        assert_eq!(parse_rfc3339("1960-01-01T00:00:00Z").unwrap(), UNIX_EPOCH);
    }

    #[test]
    fn round_trips() {
        for secs in [
            0,
            1,
            86_399,
            86_400,
            951_868_799,
            4_102_444_800,
            1_777_638_896,
        ] {
            let t = at(secs, 123);
            assert_eq!(parse_rfc3339(&rfc3339(t)).unwrap(), t);
        }
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for s in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:00:00",
            "2026-01-01T00:00:00.Z",
            "2026-01-01T00:00:00+2:00",
            "2026-01-01T00:00:00+25:00",
            "２０２６-01-01T00:00:00Z",
            "+026-01-01T00:00:00Z",
        ] {
            assert!(parse_rfc3339(s).is_err(), "{s}");
        }
        assert!(parse_rfc3339("2024-02-29T00:00:00Z").is_ok());
        // Digits past nanoseconds are read and ignored.
        assert_eq!(
            parse_rfc3339("1970-01-01T00:00:00.1234567890123456789012Z").unwrap(),
            UNIX_EPOCH + Duration::from_nanos(123_456_789)
        );
    }

    #[test]
    fn human_durations() {
        assert_eq!(human(Duration::from_micros(420)), "420µs");
        assert_eq!(human(Duration::from_millis(850)), "850ms");
        assert_eq!(human(Duration::from_millis(4_250)), "4.2s");
        assert_eq!(human(Duration::from_secs(65)), "1m05s");
        assert_eq!(human(Duration::from_secs(7_380)), "2h03m");
    }
}
