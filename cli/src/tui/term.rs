//! The terminal: entered once, always restored — on quit, on a panic, on SIGTERM and SIGHUP
//! (the event loop ends and restores), and on any early return (a drop guard).

use std::io::{self, BufWriter, Stdout, Write};
use std::sync::Once;

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::cursor::{Hide, Show};
use ratatui::crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};

/// The terminal the UI draws on: one buffered write per frame.
pub type Tty = Terminal<CrosstermBackend<BufWriter<Stdout>>>;

/// Restores the terminal when dropped.
pub struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        restore();
    }
}

/// Raw mode, the alternate screen, mouse capture, no cursor. The returned guard restores all
/// of it; a panic restores it too (before the panic message is printed).
pub fn enter() -> io::Result<(Tty, Restore)> {
    install_panic_hook();
    enable_raw_mode()?;
    let guard = Restore;
    execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture, Hide)?;
    let backend = CrosstermBackend::new(BufWriter::with_capacity(64 * 1024, io::stdout()));
    Ok((Terminal::new(backend)?, guard))
}

/// Leaves the alternate screen, stops mouse capture, shows the cursor and leaves raw mode.
/// Safe to call more than once, and best effort: a terminal that is gone (SIGHUP) is ignored.
pub fn restore() {
    let mut out = io::stdout();
    let _ = execute!(out, DisableMouseCapture, LeaveAlternateScreen, Show);
    let _ = out.flush();
    let _ = disable_raw_mode();
}

/// On a panic: restore the terminal, then print the message. A panic on the UI thread
/// unwinds, and dropping the Supervisor stops every group; on any other thread the process
/// exits with 101 (the UI cannot go on without its terminal), and the Supervisor's watchdog
/// kills every group it started.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
            if std::thread::current().name() != Some("main") {
                std::process::exit(101);
            }
        }));
    });
}
