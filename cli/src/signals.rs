//! Signals, through one crate (signal-hook) for every face: a thread of its own waits for
//! them and hands each to the face — into a tokio channel for the async faces (`run`, `up`,
//! `mcp`), into a std channel for the threaded ones (the terminal UI, a joined `run`).

use std::io;

/// Delivers each of `signals` to `deliver` on a thread of its own, until `deliver` returns
/// false (its receiver is gone).
///
/// # Errors
///
/// The handlers or the thread could not be set up.
pub fn forward(signals: &[i32], deliver: impl Fn(i32) -> bool + Send + 'static) -> io::Result<()> {
    let mut signals = signal_hook::iterator::Signals::new(signals)?;
    std::thread::Builder::new()
        .name("procsnap-signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                if !deliver(sig) {
                    return;
                }
            }
        })?;
    Ok(())
}

/// [`forward`] into a tokio channel.
///
/// # Errors
///
/// The handlers or the thread could not be set up.
pub fn channel(signals: &[i32]) -> io::Result<tokio::sync::mpsc::UnboundedReceiver<i32>> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    forward(signals, move |s| tx.send(s).is_ok())?;
    Ok(rx)
}
