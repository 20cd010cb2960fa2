//! Ctrl-C (SIGINT), SIGTERM and SIGHUP during `repro build`: the signal is
//! only recorded; the build stops at its next check, stops cargo and
//! everything cargo started, and returns [`Interrupted`], so that the
//! half-built folder and the source copy are removed on the way out. A second
//! signal exits at once, for a user who will not wait.

use std::sync::atomic::{AtomicI32, Ordering};

use anyhow::Result;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

/// The first signal received, 0 before any.
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// The error a stopped build returns; main exits with 128 + the signal, as a
/// shell reports a program the signal ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrupted(pub i32);

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self.0 {
            SIGINT => "SIGINT",
            SIGTERM => "SIGTERM",
            SIGHUP => "SIGHUP",
            _ => "a signal",
        };
        write!(
            f,
            "interrupted ({name}): cargo was stopped and the unfinished build folder removed"
        )
    }
}

impl std::error::Error for Interrupted {}

impl Interrupted {
    pub fn exit_code(self) -> i32 {
        128 + self.0
    }
}

/// Starts recording the signals, for the rest of the process.
pub fn install() -> Result<()> {
    listen(true)
}

/// Like [`install`], but a second signal is only recorded too: for a process
/// nobody waits at (the rebuilderd backend), whose cleanup a second SIGTERM
/// must not cut short; whoever must stop it at once has SIGKILL.
pub fn install_patient() -> Result<()> {
    listen(false)
}

fn listen(second_exits: bool) -> Result<()> {
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::spawn(move || {
        for signal in signals.forever() {
            if RECEIVED
                .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
                .is_err()
                && second_exits
            {
                std::process::exit(128 + signal);
            }
        }
    });
    Ok(())
}

/// Err once a signal came: the caller returns it, dropping what it built.
pub fn check() -> Result<(), Interrupted> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => Ok(()),
        signal => Err(Interrupted(signal)),
    }
}
