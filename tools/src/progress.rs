//! Progress for long work, on stderr so stdout stays the result: a bar or a
//! spinner when stderr is a terminal, plain lines when it is not (logs, CI),
//! nothing with `--json`. Bars carry no colour, so NO_COLOR changes nothing
//! here; progress is not colour.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle};

use crate::style::escape_untrusted;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Bars and spinners redrawn in place: stderr is a terminal.
    Terminal,
    /// A line before each long step, nothing redrawn: stderr is a file or pipe.
    Lines,
    /// Nothing: `--json`, where a reader wants only the document.
    Off,
}

impl Progress {
    pub fn for_stderr(json: bool) -> Progress {
        if json {
            Progress::Off
        } else if std::io::stderr().is_terminal() {
            Progress::Terminal
        } else {
            Progress::Lines
        }
    }

    /// A bar counting the files hashed, or a hidden one: hashing is fast, so a
    /// pipe gets no line for it.
    pub fn hashing(self, files: usize) -> ProgressBar {
        if self != Progress::Terminal || files == 0 {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(files as u64), ProgressDrawTarget::stderr())
            .with_finish(ProgressFinish::AndClear);
        bar.set_style(
            ProgressStyle::with_template("hashing {wide_bar} {pos}/{len} files, {elapsed}")
                .expect("a valid template"),
        );
        bar.tick();
        bar
    }

    /// Shown while diffoscope runs on `key`: a spinner with the time taken and
    /// the limit on a terminal, else one line before it starts. The spinner
    /// goes away when the returned bar is finished or dropped.
    pub fn diffoscope(self, key: &str, limit: Duration) -> ProgressBar {
        let key = escape_untrusted(key);
        let limit = limit.as_secs();
        match self {
            Progress::Terminal => {
                let spinner = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
                    .with_finish(ProgressFinish::AndClear);
                spinner.set_style(
                    ProgressStyle::with_template(&format!(
                        "{{spinner}} diffoscope on {{msg}}: {{elapsed}} of {limit}s"
                    ))
                    .expect("a valid template"),
                );
                spinner.set_message(key);
                spinner.enable_steady_tick(Duration::from_millis(200));
                spinner
            }
            Progress::Lines => {
                let mut err = std::io::stderr().lock();
                // stderr gone is no reason to stop the work.
                let _ = writeln!(err, "running diffoscope on {key} (up to {limit} s)...");
                ProgressBar::hidden()
            }
            Progress::Off => ProgressBar::hidden(),
        }
    }
}
