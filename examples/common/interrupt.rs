//! Stopping a run without losing its work: the first Ctrl-C (or SIGTERM, or SIGUSR1) asks the
//! training loop to finish the step in flight, save and stop; a second Ctrl-C exits at once.
//! SIGUSR1 is how a data-parallel run is stopped: `mpirun` passes it on to every rank, where a
//! Ctrl-C makes it end the whole job within a second.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The exit status of a run stopped by a signal (128 + SIGINT), as shells expect.
pub const INTERRUPTED_EXIT: i32 = 130;

/// Whether a stop was asked for.
#[derive(Clone)]
pub struct Interrupt {
    signals: Arc<AtomicU8>,
    user_signal: Arc<AtomicBool>,
}

impl Interrupt {
    /// Catches Ctrl-C and SIGTERM for the rest of the process.
    pub fn install() -> Interrupt {
        let signals = Arc::new(AtomicU8::new(0));
        let seen = signals.clone();
        let installed = ctrlc::set_handler(move || {
            if seen.fetch_add(1, Ordering::SeqCst) > 0 {
                eprintln!("\nstopped at once: the steps since the last checkpoint are lost");
                std::process::exit(INTERRUPTED_EXIT);
            }
            eprintln!("\nstopping: finishing this step and saving (Ctrl-C again stops at once)");
        });
        if let Err(e) = installed {
            eprintln!("note: Ctrl-C will stop the run without saving ({e})");
        }
        let user_signal = Arc::new(AtomicBool::new(false));
        #[cfg(unix)]
        if let Err(e) =
            signal_hook::flag::register(signal_hook::consts::SIGUSR1, user_signal.clone())
        {
            eprintln!("note: SIGUSR1 will not stop the run ({e})");
        }
        Interrupt {
            signals,
            user_signal,
        }
    }

    /// Whether the loop should save and stop now.
    pub fn requested(&self) -> bool {
        self.signals.load(Ordering::SeqCst) > 0 || self.user_signal.load(Ordering::SeqCst)
    }
}

/// A checkpoint cadence in training time, besides the one in steps, so a slow adapter never
/// has more than this much work unsaved.
pub struct Cadence {
    every: Option<Duration>,
    last: Instant,
}

impl Cadence {
    /// Every `minutes` (0: never).
    pub fn minutes(minutes: f64) -> Cadence {
        Cadence {
            every: (minutes > 0.0).then(|| Duration::from_secs_f64(minutes * 60.0)),
            last: Instant::now(),
        }
    }

    /// Whether a checkpoint is due; the clock restarts when one is written ([`Cadence::saved`]).
    pub fn due(&self) -> bool {
        self.every.is_some_and(|every| self.last.elapsed() >= every)
    }

    /// A checkpoint was just written.
    pub fn saved(&mut self) {
        self.last = Instant::now();
    }
}
