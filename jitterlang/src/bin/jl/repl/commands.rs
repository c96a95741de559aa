//! What the prompt does with a line: a dot-command, or a script to compile and attach.

use super::entry::Entry;
use super::printer::Printer;
use super::{Entries, Settings};
use crate::output::line;
use jitterlang::runtime::{Control, Symbols};
use jitterlib::agg::render_text;
use std::io;
use std::time::Duration;

const HELP: &str = "\
Enter probes to compile and attach them at once, e.g.
  tracepoint:irq:softirq_entry { @[args.vec] = count(); }
  timer() { @[func] = sum(dur); }
Commands (N is the number .list shows; without N: every script):
  .list          scripts with their state and probes
  .print [N]     print the maps now
  .clear [N]     empty the maps
  .detach [N]    stop tracing (END runs, final maps print)
  .attach N      attach a detached script again
  .dis N         show the generated eBPF
  .live SECS|off print the maps every SECS seconds
  .quit          detach everything and leave (also Ctrl-D); Ctrl-C mutes output (any command unmutes)";

/// The prompt's state: the entered scripts and where their output goes.
pub struct Session {
    settings: Settings,
    printer: Printer,
    entries: Entries,
    live: Option<Duration>,
}

impl Session {
    /// An empty session.
    pub fn new(settings: Settings, printer: Printer) -> Session {
        Session { settings, printer, entries: Vec::new(), live: None }
    }

    /// Handles one line; false when the prompt should end, an error when its reply cannot be written.
    pub fn handle(&mut self, input: &str) -> io::Result<bool> {
        let input = input.trim();
        if input.is_empty() {
            return Ok(true);
        }
        self.printer.set_muted(false);
        let Some(command) = input.strip_prefix('.') else {
            self.enter(input)?;
            return Ok(true);
        };
        let mut words = command.split_whitespace();
        let name = words.next().unwrap_or("");
        let argument = words.next();
        match name {
            "quit" | "exit" | "q" => return Ok(false),
            "help" | "h" => line(HELP)?,
            "list" | "ls" => self.list()?,
            "print" | "p" => self.each(argument, |session, entry| session.print_maps(entry))?,
            "clear" => self.each(argument, |_, entry| entry.clear().map_err(Failure::Script))?,
            "detach" => {
                let printer = self.printer.clone();
                self.each_mut(argument, |entry| {
                    entry.detach(&printer);
                    Ok(())
                })?
            }
            "attach" => match self.find(argument) {
                Some(index) => match self.entries[index].attach(&self.settings, &self.printer) {
                    Ok(()) => line(format_args!("#{} attached", index + 1))?,
                    Err(error) => report(Err(Failure::Script(error)))?,
                },
                None => line("usage: .attach N (see .list)")?,
            },
            "dis" => match self.find(argument) {
                Some(index) => crate::output::write(self.entries[index].compiled.disassembly())?,
                None => line("usage: .dis N (see .list)")?,
            },
            "live" => self.live(argument)?,
            other => line(format_args!("unknown command .{other}; .help lists them"))?,
        }
        Ok(true)
    }

    /// Ctrl-C: stop printing the scripts' output until the next command.
    pub fn mute(&self) -> io::Result<()> {
        self.printer.set_muted(true);
        line("(output muted; any command resumes it, Ctrl-D leaves)")
    }

    /// Detaches every script (Ctrl-D, `.quit`).
    pub fn detach_all(&mut self) {
        for entry in &mut self.entries {
            entry.detach(&self.printer);
        }
    }

    /// Names of the maps of every script, for completion.
    pub fn map_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .entries
            .iter()
            .flat_map(|entry| entry.compiled.user_maps.iter().map(|(_, layout)| layout.name.clone()))
            .collect();
        names.sort();
        names.dedup();
        names
    }

    fn enter(&mut self, source: &str) -> io::Result<()> {
        let compiled = match jitterlang::compile_with(source, self.settings.kernel.as_ref(), &self.settings.compile) {
            Ok(compiled) => compiled,
            Err(diagnostics) => {
                eprint!("{}", diagnostics.render("<prompt>", source));
                return Ok(());
            }
        };
        eprint!("{}", compiled.warnings.render("<prompt>", source));
        let id = self.entries.len() + 1;
        let mut entry = Entry::new(id, source.to_string(), compiled);
        let attached = entry.attach(&self.settings, &self.printer);
        self.entries.push(entry);
        match attached {
            Ok(()) => {
                let entry = &self.entries[id - 1];
                if let Some(every) = self.live {
                    let _ = entry.send(Control::PrintEvery(Some(every)));
                }
                let programs = entry.compiled.programs.len();
                line(format_args!("#{id} attached ({programs} program{})", if programs == 1 { "" } else { "s" }))
            }
            Err(error) => line(format_args!("#{id} failed: {error}")),
        }
    }

    fn list(&self) -> io::Result<()> {
        if self.entries.is_empty() {
            line("no scripts yet: enter a probe, e.g. timer() { @[func] = count(); }")?;
        }
        for entry in &self.entries {
            let state = if entry.is_attached() { "attached" } else { "detached" };
            let probes: Vec<String> = entry.compiled.programs.iter().map(|unit| unit.describe.clone()).collect();
            line(format_args!("#{} {state:<9} {}    [{}]", entry.id, entry.source, probes.join(", ")))?;
        }
        Ok(())
    }

    fn print_maps(&self, entry: &Entry) -> Result<(), Failure> {
        let symbols = Symbols::new(self.settings.kernel.as_ref());
        let snapshots = entry.snapshots().map_err(Failure::Script)?;
        if snapshots.is_empty() {
            line(format_args!("#{}: no data yet", entry.id))?;
        }
        for snapshot in snapshots {
            line(format_args!("#{} {}", entry.id, render_text(&snapshot, &symbols).trim_end()))?;
        }
        Ok(())
    }

    fn live(&mut self, argument: Option<&str>) -> io::Result<()> {
        let every = match argument {
            Some("off") => None,
            Some(seconds) => match seconds.parse::<f64>().ok().filter(|s| *s > 0.0) {
                Some(seconds) => Some(Duration::from_secs_f64(seconds)),
                None => return line("usage: .live SECS|off"),
            },
            None => return line("usage: .live SECS|off"),
        };
        self.live = every;
        for entry in self.entries.iter().filter(|entry| entry.is_attached()) {
            report(entry.send(Control::PrintEvery(every)).map_err(Failure::Script))?;
        }
        Ok(())
    }

    fn find(&self, argument: Option<&str>) -> Option<usize> {
        let id: usize = argument?.trim_start_matches('#').parse().ok()?;
        (1..=self.entries.len()).contains(&id).then(|| id - 1)
    }

    /// Runs `action` on entry N, or on every attached entry without N.
    fn each(&self, argument: Option<&str>, action: impl Fn(&Session, &Entry) -> Result<(), Failure>) -> io::Result<()> {
        match argument {
            Some(_) => match self.find(argument) {
                Some(index) => report(action(self, &self.entries[index])),
                None => no_such_script(argument),
            },
            None => {
                for entry in self.entries.iter().filter(|entry| entry.is_attached()) {
                    report(action(self, entry))?;
                }
                Ok(())
            }
        }
    }

    fn each_mut(
        &mut self,
        argument: Option<&str>,
        action: impl Fn(&mut Entry) -> Result<(), Failure>,
    ) -> io::Result<()> {
        match argument {
            Some(_) => match self.find(argument) {
                Some(index) => report(action(&mut self.entries[index])),
                None => no_such_script(argument),
            },
            None => {
                for entry in &mut self.entries {
                    report(action(entry))?;
                }
                Ok(())
            }
        }
    }
}

/// Why a command on one script failed: the script (told at the prompt) or the prompt's own output.
enum Failure {
    Script(String),
    Output(io::Error),
}

impl From<io::Error> for Failure {
    fn from(error: io::Error) -> Failure {
        Failure::Output(error)
    }
}

/// Tells a script's failure at the prompt; an output failure ends the prompt.
fn report(result: Result<(), Failure>) -> io::Result<()> {
    match result {
        Ok(()) => Ok(()),
        Err(Failure::Script(error)) => line(format_args!("jl: {error}")),
        Err(Failure::Output(error)) => Err(error),
    }
}

fn no_such_script(argument: Option<&str>) -> io::Result<()> {
    line(format_args!("no script {}; see .list", argument.unwrap_or_default()))
}
