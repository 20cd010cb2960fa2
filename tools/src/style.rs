//! Colour for the human output: only on a terminal, never when NO_COLOR is set.

use std::io::IsTerminal;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when standard output is a terminal.
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy)]
pub struct Style {
    enabled: bool,
}

impl Style {
    /// NO_COLOR (any non-empty value, per no-color.org) wins over everything.
    pub fn for_stdout(choice: ColorChoice) -> Style {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let enabled = !no_color
            && match choice {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => std::io::stdout().is_terminal(),
            };
        Style { enabled }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.enabled {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    pub fn ok(&self, text: &str) -> String {
        self.paint("32", text)
    }

    pub fn diff(&self, text: &str) -> String {
        self.paint("33", text)
    }

    pub fn fail(&self, text: &str) -> String {
        self.paint("1;31", text)
    }

    pub fn info(&self, text: &str) -> String {
        self.paint("36", text)
    }
}

/// Text from untrusted input (file names, strings read out of binaries) made
/// safe to print on a terminal: control characters and the bidirectional
/// overrides that can reorder a line are shown escaped (`\u{1b}`, `\n`), so
/// they can neither drive the terminal nor disguise what the line says.
pub fn escape_untrusted(text: &str) -> String {
    text.chars()
        .map(|c| {
            let bidi = matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
            if c.is_control() || bidi {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `n` and the noun, singular for one: "1 artifact", "3 artifacts".
pub fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untrusted_text_cannot_drive_the_terminal() {
        assert_eq!(
            escape_untrusted("a\x1b[31mb\nc\u{202e}d\u{9b}é/x"),
            "a\\u{1b}[31mb\\nc\\u{202e}d\\u{9b}é/x"
        );
    }
}
