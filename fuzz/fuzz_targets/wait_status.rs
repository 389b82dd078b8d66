//! `WaitStatus::from_raw` against libc's `W*` macros, for any raw status: exactly one variant,
//! the same fields the macros give, and `exit()` keeps a code and a signal apart.
#![no_main]

use libfuzzer_sys::fuzz_target;
use procsnap::Exit;
use procsnap::internals::sys::WaitStatus;

fuzz_target!(|raw: i32| {
    let decoded = WaitStatus::from_raw(raw);
    match decoded {
        WaitStatus::Exited(code) => {
            assert!(libc::WIFEXITED(raw), "{raw:#x}: Exited but not WIFEXITED");
            assert_eq!(code, libc::WEXITSTATUS(raw));
            assert!((0..=255).contains(&code));
            assert_eq!(decoded.exit(), Some(Exit::Code(code)));
        }
        WaitStatus::Signaled {
            signal,
            core_dumped,
        } => {
            // 0x..ff is neither WIFSIGNALED nor WIFSTOPPED in glibc; the decoder calls it a
            // signal 127 with a core dump (documented), and no kernel reports it.
            if raw & 0xff != 0xff {
                assert!(
                    libc::WIFSIGNALED(raw),
                    "{raw:#x}: Signaled but not WIFSIGNALED"
                );
                assert_eq!(signal, libc::WTERMSIG(raw));
                assert_eq!(core_dumped, libc::WCOREDUMP(raw));
            }
            assert!((1..=127).contains(&signal));
            assert_eq!(decoded.exit(), Some(Exit::Signal(signal)));
        }
        WaitStatus::Stopped(signal) => {
            assert!(
                libc::WIFSTOPPED(raw),
                "{raw:#x}: Stopped but not WIFSTOPPED"
            );
            assert_eq!(signal, libc::WSTOPSIG(raw));
            assert_eq!(decoded.exit(), None);
        }
        WaitStatus::Continued => {
            assert!(
                libc::WIFCONTINUED(raw),
                "{raw:#x}: Continued but not WIFCONTINUED"
            );
            assert_eq!(decoded.exit(), None);
        }
    }
    // Whatever libc says a status is, the decoder agrees on the kind.
    if libc::WIFEXITED(raw) {
        assert!(matches!(decoded, WaitStatus::Exited(_)));
    }
    if libc::WIFSIGNALED(raw) {
        assert!(matches!(decoded, WaitStatus::Signaled { .. }));
    }
});
