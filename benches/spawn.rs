//! Spawn + reap of a small program, through the [`Supervisor`] and its rivals, in one run.
//!
//! The program is a small static binary: a 129-byte x86-64 ELF written at start-up whose only
//! instruction is `exit(0)` (no dynamic loader, no libc), so the figures are the spawn and reap
//! machinery and not the program. Elsewhere, and in the `spawn_reap_bin_true` group, it is
//! `/bin/true` (dynamically linked: ~550 µs more per run here, the same for every row).
//!
//! - `std_status`: `std::process::Command::new(P).status()` (posix_spawn inside, since no
//!   `pre_exec` is set; stdio inherited, nothing captured).
//! - `std_output`: `Command::new(P).stdin(Stdio::null()).output()`: what the Supervisor does
//!   with the output, std's way: stdout and stderr piped and read to end of file, then `waitpid`.
//! - `sys_posix_spawn`: our raw layer: `sys::spawn` (own group, reset signals, two pipes) +
//!   `waitpid`.
//! - `supervisor`: `Supervisor::spawn` + `wait` (pidfd, epoll reaper thread, pipes read to end of
//!   file, state CAS, event, condvar wake-up).
//! - `spawn_reap_fat_parent/*`: the same after the parent touched 1 GiB (set
//!   `PROCSNAP_BENCH_FAT_MIB` to change it, 0 to skip): no fork anywhere, so it must stay flat.
//!
//! Run: `cargo bench --bench spawn` (about a minute). Compare ratios within one run only.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use procsnap::{CommandSpec, Status, Supervisor, sys};

fn group(c: &mut Criterion, name: &str, program: &Path) {
    let sup = Supervisor::with_config(
        procsnap::SupervisorConfig::default()
            .watchdog(true)
            .raise_nofile(true),
    )
    .expect("supervisor");
    let spec = CommandSpec::new(program);
    let mut g = c.benchmark_group(name);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(4));
    g.sample_size(30);
    g.bench_function("std_status", |b| {
        b.iter(|| {
            let st = Command::new(program).status().unwrap();
            assert!(st.success());
        })
    });
    g.bench_function("std_output", |b| {
        b.iter(|| {
            let out = Command::new(program).stdin(Stdio::null()).output().unwrap();
            assert!(out.status.success());
            black_box(out);
        })
    });
    g.bench_function("sys_posix_spawn", |b| {
        b.iter(|| {
            let child = sys::spawn(&spec).unwrap();
            let st = sys::wait_blocking(child.pid).unwrap();
            black_box((st, child.stdout, child.stderr));
        })
    });
    g.bench_function("supervisor", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                let p = sup.spawn("bench", spec.clone()).unwrap();
                let s = sup.wait(p.id()).unwrap();
                total += t.elapsed();
                assert_eq!(s.status, Status::Success);
                // Untimed: keep the copy-on-write registry at one entry.
                sup.registry().remove_finished();
            }
            total
        })
    });
    g.finish();
}

/// Writes the smallest static x86-64 Linux executable that exits with 0 into a fresh temporary
/// directory: an ELF header, one `PT_LOAD` program header mapping the file at 0x400000, and
/// `mov eax, 60; xor edi, edi; syscall`. `None` on other architectures.
fn tiny_static_binary() -> Option<PathBuf> {
    if !cfg!(all(target_arch = "x86_64", target_os = "linux")) {
        return None;
    }
    const BASE: u64 = 0x40_0000;
    const HEADERS: u64 = 64 + 56;
    let code = [0xb8, 0x3c, 0, 0, 0, 0x31, 0xff, 0x0f, 0x05];
    let size = HEADERS + code.len() as u64;
    let mut elf = Vec::with_capacity(size as usize);
    elf.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0"); // 64-bit, LE, SysV
    elf.extend_from_slice(&2u16.to_le_bytes()); // e_type: executable
    elf.extend_from_slice(&0x3eu16.to_le_bytes()); // e_machine: x86-64
    elf.extend_from_slice(&1u32.to_le_bytes()); // e_version
    elf.extend_from_slice(&(BASE + HEADERS).to_le_bytes()); // e_entry: the code
    elf.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
    elf.extend_from_slice(&0u64.to_le_bytes()); // e_shoff: no sections
    elf.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    for half in [64u16, 56, 1, 64, 0, 0] {
        // e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx
        elf.extend_from_slice(&half.to_le_bytes());
    }
    elf.extend_from_slice(&1u32.to_le_bytes()); // p_type: PT_LOAD
    elf.extend_from_slice(&5u32.to_le_bytes()); // p_flags: R + X
    for word in [0, BASE, BASE, size, size, 0x1000] {
        // p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align
        elf.extend_from_slice(&word.to_le_bytes());
    }
    elf.extend_from_slice(&code);
    assert_eq!(elf.len() as u64, size);

    use std::os::unix::fs::OpenOptionsExt;
    let dir = std::env::temp_dir().join(format!("procsnap-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let path = dir.join("exit0");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o755)
        .open(&path)
        .ok()?;
    std::io::Write::write_all(&mut f, &elf).ok()?;
    drop(f); // closed before the first exec, or exec fails with ETXTBSY
    let ok = Command::new(&path).status().is_ok_and(|s| s.success());
    ok.then_some(path)
}

fn spawn_reap(c: &mut Criterion) {
    let bin_true = Path::new("/bin/true");
    let tiny = tiny_static_binary();
    let program = tiny.as_deref().unwrap_or(bin_true);
    eprintln!("spawn bench program: {}", program.display());
    group(c, "spawn_reap", program);
    let mib: usize = std::env::var("PROCSNAP_BENCH_FAT_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    if mib > 0 {
        // Touch every page so that a fork would have to copy the page tables.
        let fat = vec![1u8; mib << 20];
        black_box(&fat);
        group(c, "spawn_reap_fat_parent", program);
        drop(fat);
    }
    if tiny.is_some() {
        group(c, "spawn_reap_bin_true", bin_true);
    }
    if let Some(dir) = tiny.as_deref().and_then(Path::parent) {
        let _ = std::fs::remove_dir_all(dir);
    }
}

criterion_group!(benches, spawn_reap);
criterion_main!(benches);
