use super::*;

/// Seconds since the epoch of a UTC date and time.
fn utc(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> i64 {
    days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s
}

fn rule(s: &str) -> Zone {
    let rule = Rule::parse(s).unwrap_or_else(|| panic!("{s} does not parse"));
    Zone {
        transitions: Vec::new(),
        initial: rule.std,
        rule: Some(rule),
    }
}

#[test]
fn a_northern_rule_switches_at_its_utc_instants() {
    let berlin = rule("CET-1CEST,M3.5.0,M10.5.0/3");
    // 2026: the last Sunday of March is the 29th (02:00 CET), of October the 25th (03:00 CEST).
    assert_eq!(berlin.offset_at(utc(2026, 3, 29, 0, 59, 59)), 3600);
    assert_eq!(berlin.offset_at(utc(2026, 3, 29, 1, 0, 0)), 7200);
    assert_eq!(berlin.offset_at(utc(2026, 10, 25, 0, 59, 59)), 7200);
    assert_eq!(berlin.offset_at(utc(2026, 10, 25, 1, 0, 0)), 3600);
    assert_eq!(berlin.offset_at(utc(2026, 1, 1, 0, 0, 0)), 3600);
}

#[test]
fn a_southern_rule_has_daylight_saving_across_the_new_year() {
    let sydney = rule("AEST-10AEDT,M10.1.0,M4.1.0/3");
    assert_eq!(sydney.offset_at(utc(2026, 1, 15, 0, 0, 0)), 11 * 3600);
    assert_eq!(sydney.offset_at(utc(2026, 7, 15, 0, 0, 0)), 10 * 3600);
    // Ends 2026-04-05 03:00 AEDT = 04-04 16:00 UTC; starts 10-04 02:00 AEST = 10-03 16:00 UTC.
    assert_eq!(sydney.offset_at(utc(2026, 4, 4, 15, 59, 59)), 11 * 3600);
    assert_eq!(sydney.offset_at(utc(2026, 4, 4, 16, 0, 0)), 10 * 3600);
    assert_eq!(sydney.offset_at(utc(2026, 10, 3, 15, 59, 59)), 10 * 3600);
    assert_eq!(sydney.offset_at(utc(2026, 10, 3, 16, 0, 0)), 11 * 3600);
    assert_eq!(sydney.offset_at(utc(2026, 12, 31, 23, 0, 0)), 11 * 3600);
}

#[test]
fn fixed_rules_quoted_names_and_garbage() {
    assert_eq!(rule("UTC0").offset_at(0), 0);
    assert_eq!(rule("EST5").offset_at(0), -5 * 3600);
    assert_eq!(rule("<+0330>-3:30").offset_at(0), 3 * 3600 + 1800);
    assert_eq!(rule("<-03>3").offset_at(0), -3 * 3600);
    // No dates: the US rules; no dst offset: one hour ahead.
    let ny = rule("EST5EDT");
    assert_eq!(ny.offset_at(utc(2026, 7, 1, 0, 0, 0)), -4 * 3600);
    assert_eq!(ny.offset_at(utc(2026, 1, 1, 0, 0, 0)), -5 * 3600);
    // Julian and zero-based days.
    let j = rule("XST0XDT,J60/0,300/0");
    assert_eq!(j.offset_at(utc(2024, 2, 29, 12, 0, 0)), 0, "J60 is March 1");
    assert_eq!(j.offset_at(utc(2024, 3, 1, 12, 0, 0)), 3600);
    for bad in [
        "",
        "x",
        "UT0",
        "CET",
        "CET-1CEST,M13.1.0,M10.5.0",
        "CET-1CEST,M3.5.0",
        "EST5x",
    ] {
        assert_eq!(Rule::parse(bad), None, "{bad:?}");
    }
}

#[test]
fn tz_forms_and_fallbacks() {
    let os = |s: &str| Some(std::ffi::OsString::from(s));
    assert_eq!(Zone::from_env(os("").as_deref()).offset_at(0), 0);
    assert_eq!(Zone::from_env(os(":UTC0").as_deref()).offset_at(0), 0);
    assert_eq!(
        Zone::from_env(os("EST5").as_deref()).offset_at(0),
        -5 * 3600
    );
    assert_eq!(
        Zone::from_env(os("../../etc/passwd").as_deref()),
        Zone::default()
    );
    assert_eq!(
        Zone::from_env(os("no such zone").as_deref()),
        Zone::default()
    );
}

/// A version 1 file: one transition, no footer.
#[test]
fn a_version_1_file() {
    let mut data = b"TZif\0".to_vec();
    data.extend([0; 15]);
    for count in [0u32, 0, 0, 1, 2, 4] {
        data.extend(count.to_be_bytes());
    }
    data.extend(1000i32.to_be_bytes());
    data.push(1);
    for (off, dst, idx) in [(0i32, 0u8, 0u8), (3600, 1, 0)] {
        data.extend(off.to_be_bytes());
        data.extend([dst, idx]);
    }
    data.extend(b"UTC\0");
    let zone = parse_tzif(&data).unwrap();
    assert_eq!(zone.offset_at(999), 0);
    assert_eq!(zone.offset_at(1000), 3600);
    assert_eq!(zone.offset_at(i64::MAX), 3600);
}

/// Every truncation of a real zone file is refused or read, never a panic.
#[test]
fn truncated_files_are_refused_without_panicking() {
    let Ok(data) = std::fs::read(format!("{ZONEINFO}/Europe/Berlin")) else {
        eprintln!("no {ZONEINFO}/Europe/Berlin: skipped");
        return;
    };
    assert!(parse_tzif(&data).is_some());
    for len in 0..data.len() {
        let _ = parse_tzif(&data[..len]);
    }
}

/// The offsets agree with the C library's (`date +%z`) for zones east, west, south, with half
/// and quarter hours, before and after the files' last transitions.
#[test]
fn offsets_agree_with_the_c_library() {
    if !std::path::Path::new(ZONEINFO)
        .join("Europe/Berlin")
        .exists()
    {
        eprintln!("no zoneinfo: skipped");
        return;
    }
    let zones = [
        "Europe/Berlin",
        "America/New_York",
        "Australia/Sydney",
        "Asia/Kolkata",
        "America/St_Johns",
        "Pacific/Chatham",
        "Europe/London",
        "UTC",
    ];
    let instants: Vec<i64> = (1990..=2045)
        .step_by(5)
        .flat_map(|y| [utc(y, 1, 10, 12, 0, 0), utc(y, 7, 10, 12, 0, 0)])
        .chain([utc(2026, 3, 29, 0, 59, 59), utc(2026, 3, 29, 1, 0, 0)])
        .collect();
    for name in zones {
        let zone = Zone::from_env(Some(std::ffi::OsStr::new(name)));
        for &t in &instants {
            let out = std::process::Command::new("date")
                .env("TZ", name)
                .args(["-d", &format!("@{t}"), "+%z"])
                .output()
                .unwrap();
            let z = String::from_utf8(out.stdout).unwrap();
            let z = z.trim();
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let want = sign
                * (z[1..3].parse::<i32>().unwrap() * 3600 + z[3..5].parse::<i32>().unwrap() * 60);
            assert_eq!(zone.offset_at(t), want, "{name} at {t}");
        }
    }
}
