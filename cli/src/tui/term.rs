//! The terminal: entered once, always restored — on quit, on a panic, on SIGTERM and SIGHUP
//! (the event loop ends and restores), and on any early return (a drop guard) — and handed
//! back to the shell while the UI is suspended (Ctrl-Z, SIGTSTP), as `less` and `vim` do.

use std::io::{self, BufWriter, Stdout, Write};
use std::sync::Once;

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::cursor::{Hide, Show};
use ratatui::crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
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
    take_screen()?;
    let backend = CrosstermBackend::new(BufWriter::with_capacity(64 * 1024, io::stdout()));
    Ok((Terminal::new(backend)?, guard))
}

/// The alternate screen (cleared), mouse capture, no cursor.
fn take_screen() -> io::Result<()> {
    execute!(
        io::stdout(),
        EnterAlternateScreen,
        Clear(ClearType::All),
        EnableMouseCapture,
        Hide
    )
}

/// Ctrl-Z: gives the terminal back as it was (main screen, cursor, cooked mode), stops this
/// process, and once continued (`fg`, SIGCONT) takes the terminal again, cleared, and forgets
/// `tty`'s idea of what the screen shows, so that the next draw paints all of it.
/// (`Terminal::clear` would read the cursor position from the terminal's input, which the
/// input thread is reading.)
///
/// The stop is a SIGSTOP to ourselves: SIGTSTP is handled (that is how we get here), and a
/// SIGTSTP would be discarded anyway where our process group is orphaned. After `bg`, taking
/// the terminal back stops us again (SIGTTOU) until `fg`, as for any terminal program.
pub fn suspend(tty: &mut Tty) -> io::Result<()> {
    restore();
    signal_hook::low_level::raise(signal_hook::consts::SIGSTOP)?;
    enable_raw_mode()?;
    take_screen()?;
    // Both buffers blank: the next frame is diffed against an empty screen.
    tty.swap_buffers();
    tty.swap_buffers();
    Ok(())
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
