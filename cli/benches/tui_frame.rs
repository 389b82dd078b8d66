//! Building one frame of `procsnap tui`: 100 running processes in the list, 50 visible log
//! lines (with ANSI colours) in the log pane, drawn into ratatui's `TestBackend` at 200×53 —
//! the states read under one pin, the lines read from the rings, styled, laid out and diffed
//! against the previous frame. Target: ≤ 1 ms.
//!
//! `cargo bench -p procsnap-cli --bench tui_frame`

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use procsnap::{CommandSpec, Event, Registry, Stream};
use procsnap_cli::tui::app::{App, Sel};
use procsnap_cli::tui::clock::Clock;
use procsnap_cli::tui::rows::{Catalog, Entry, Sort, snapshot};
use procsnap_cli::tui::theme::Theme;
use procsnap_cli::tui::view::{Scene, draw};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const PROCESSES: usize = 100;

fn fixture() -> (Registry, Catalog) {
    let reg = Registry::new();
    let mut entries = Vec::new();
    let at = SystemTime::now();
    for i in 0..PROCESSES {
        let name = format!("svc{i:03}");
        entries.push(Entry {
            name: name.clone(),
            spec: Ok(CommandSpec::shell("true")),
        });
        let p = reg.insert(&name, CommandSpec::shell("true"), 0);
        let pid = 10_000 + i as u32;
        reg.apply(p.id(), Event::Started { pid, at }).unwrap();
        for j in 0..200 {
            reg.push_line(p.id(),
                Stream::Stdout,
                &format!(
                    "\x1b[36m2024-05-01T12:00:{:02}Z\x1b[0m \x1b[32mINFO\x1b[0m {name} handled request {j} in {}ms",
                    j % 60,
                    j % 17
                ),
                false,
            ).unwrap();
        }
    }
    (reg, Catalog::from_entries(entries))
}

fn frame(term: &mut Terminal<TestBackend>, app: &mut App, reg: &Registry, cat: &Catalog) {
    let snap = snapshot(reg, cat, app.sort);
    app.mark_seen(&snap);
    let scene = Scene {
        snap: &snap,
        catalog: cat,
        title: "bench",
        clock: Clock {
            now: SystemTime::now(),
            offset_secs: 0,
        },
        theme: Theme { color: true },
    };
    term.draw(|f| {
        black_box(draw(f, app, &scene));
    })
    .unwrap();
}

fn bench(c: &mut Criterion) {
    let (reg, cat) = fixture();
    let mut g = c.benchmark_group("tui_frame");
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    for (what, selected) in [
        ("one_process_50_lines", Sel::Name("svc050".into())),
        ("all_merged_50_lines", Sel::All),
    ] {
        let mut term = Terminal::new(TestBackend::new(200, 53)).unwrap();
        let mut app = App {
            selected,
            ..App::default()
        };
        frame(&mut term, &mut app, &reg, &cat);
        assert_eq!(app.geometry.log_rows, 50, "50 visible log lines");
        g.bench_function(what, |b| b.iter(|| frame(&mut term, &mut app, &reg, &cat)));
    }
    g.bench_function("100_states_one_pin", |b| {
        let mut reader = procsnap::Reader::new();
        b.iter(|| {
            let running = reader.list(&reg).filter(|(_, s)| s.is_running()).count();
            black_box(running)
        })
    });
    g.bench_function("snapshot_100_rows", |b| {
        b.iter(|| black_box(snapshot(&reg, &cat, Sort::Declared)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
