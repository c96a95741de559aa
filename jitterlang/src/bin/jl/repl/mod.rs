//! The interactive prompt: each entered script compiles and attaches at once and keeps running while you type.
//! Dot-commands list, detach, re-attach, print and clear the running scripts; Ctrl-C mutes their output,
//! Ctrl-D detaches everything and leaves. The command line's options (`-p`, `--map-keys`, `--unsafe`,
//! `--no-fentry`, `-v`) apply to every script entered.

mod commands;
mod entry;
mod helper;
mod line;
mod printer;

use crate::output;
use entry::Entry;
use helper::ReplHelper;
use jitterlang::CompileOptions;
use jitterlib::kernel::LiveKernel;
use printer::Printer;
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{Config, Editor};
use std::io;
use std::process::ExitCode;
use std::sync::Arc;

/// What the command line sets for every script entered at the prompt.
pub struct Settings {
    /// The running kernel, as the command line configured it (`--no-fentry`).
    pub kernel: Arc<LiveKernel>,
    /// How scripts compile (`-p`, `--map-keys`, `--unsafe`; never `--arg`, which belongs to one script).
    pub compile: CompileOptions,
    /// Whether a verifier rejection prints the verifier's whole log (`-v`).
    pub verbose: bool,
}

/// Runs the REPL until Ctrl-D or `.quit`.
pub fn run(settings: Settings) -> ExitCode {
    let config = Config::builder().auto_add_history(true).build();
    let mut editor: Editor<ReplHelper, DefaultHistory> = match Editor::with_config(config) {
        Ok(editor) => editor,
        Err(error) => {
            eprintln!("jl: cannot start the prompt: {error}");
            return ExitCode::from(1);
        }
    };
    editor.set_helper(Some(ReplHelper::new(settings.kernel.as_ref())));
    let history = history_path();
    if let Some(path) = &history {
        // A missing history file is normal on first use.
        let _ = editor.load_history(path);
    }
    let printer = Printer::default();
    let mut session = commands::Session::new(settings, printer);
    let banner = format!(
        "jl {}: enter probes to attach them now; .help lists commands, Ctrl-D leaves.",
        env!("CARGO_PKG_VERSION")
    );
    if let Err(error) = output::line(banner).and_then(|()| prompt(&mut editor, &mut session)) {
        // A reader that went away (`jl | head`) ends the prompt quietly.
        output::report(&error);
    }
    session.detach_all();
    if let Some(path) = &history {
        if let Err(error) = editor.save_history(path) {
            eprintln!("jl: cannot save history to {}: {error}", path.display());
        }
    }
    ExitCode::SUCCESS
}

/// Reads and handles lines until Ctrl-D or `.quit`; an error when a reply cannot be written.
fn prompt(editor: &mut Editor<ReplHelper, DefaultHistory>, session: &mut commands::Session) -> io::Result<()> {
    loop {
        match editor.readline(printer::PROMPT) {
            Ok(line) => {
                if !session.handle(&line)? {
                    return Ok(());
                }
                if let Some(helper) = editor.helper_mut() {
                    helper.set_maps(session.map_names());
                }
            }
            Err(ReadlineError::Interrupted) => session.mute()?,
            Err(ReadlineError::Eof) => return Ok(()),
            Err(ReadlineError::Io(error)) => return Err(error),
            Err(error) => {
                eprintln!("jl: {error}");
                return Ok(());
            }
        }
    }
}

fn history_path() -> Option<std::path::PathBuf> {
    std::env::var_os("JL_HISTORY")
        .map(Into::into)
        .or_else(|| std::env::var_os("HOME").map(|home| std::path::Path::new(&home).join(".jl_history")))
}

/// Every entry the session knows, for the commands.
type Entries = Vec<Entry>;
