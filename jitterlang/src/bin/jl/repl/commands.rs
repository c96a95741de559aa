//! What the prompt does with a line: a dot-command, or a script to compile and attach.

use super::entry::Entry;
use super::line::{self, Action, Line, Statement};
use super::printer::Printer;
use super::{Entries, Settings};
use crate::output::line;
use jitterlang::runtime::{Control, MapChange, Symbols};
use jitterlib::agg::{render_text, MapLayout};
use std::io;
use std::time::Duration;

const HELP: &str = "\
Enter probes to compile and attach them at once, e.g.
  tracepoint:irq:softirq_entry { @[args.vec] = count(); }
  timer() { @[func] = sum(dur); }
Statements on the maps of the attached scripts, as in a block:
  print(@c)  print(@c, N)  clear(@c)  zero(@c)  delete(@m, key)  delete(@m, (k1, \"k2\"))
Commands (N is the number .list shows; without N: every script):
  .list          scripts with their state and probes
  .print [N|@m]  print the maps now (or the map @m)
  .clear [N]     empty the maps
  .detach [N]    stop tracing (END runs, final maps print)
  .attach N      attach a detached script again
  .dis N         show the generated eBPF
  .live SECS|off print the maps every SECS seconds
  .quit          detach everything and leave (also quit, exit, \\q, Ctrl-D); Ctrl-C mutes output (any command
                 unmutes); help or \\? prints this";

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
        let (name, argument) = match line::classify(input) {
            Line::Command(name, argument) => (name, argument),
            Line::Statement(statement) => return self.statement(&statement).map(|()| true),
            Line::BadStatement(message) => return line(message).map(|()| true),
            Line::Script => return self.enter(input).map(|()| true),
        };
        match name {
            "quit" | "exit" | "q" => return Ok(false),
            "help" | "h" => line(HELP)?,
            "list" | "ls" => self.list()?,
            "print" | "p" => match argument.filter(|argument| argument.starts_with('@')) {
                Some(map) => {
                    self.statement(&Statement { action: Action::Print, map: map.into(), key: vec![], limit: 0 })?
                }
                None => self.each(argument, |session, entry| session.print_maps(entry, None, 0))?,
            },
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

    /// Prints the maps of `entry`, or only the one named `only` with its `limit` largest entries (0: all).
    fn print_maps(&self, entry: &Entry, only: Option<&str>, limit: usize) -> Result<(), Failure> {
        let symbols = Symbols::new(self.settings.kernel.as_ref());
        let mut snapshots = entry.snapshots().map_err(Failure::Script)?;
        snapshots.retain(|snapshot| only.is_none_or(|name| snapshot.map.name == name));
        if snapshots.is_empty() {
            line(format_args!("#{}: no data yet", entry.id))?;
        }
        for mut snapshot in snapshots {
            // Rows are sorted ascending, as bpftrace prints them: the largest are last.
            if limit > 0 {
                snapshot.rows.drain(..snapshot.rows.len().saturating_sub(limit));
            }
            line(format_args!("#{} {}", entry.id, render_text(&snapshot, &symbols).trim_end()))?;
        }
        Ok(())
    }

    /// Runs a statement typed at the prompt on the map it names, in every attached script that has one.
    fn statement(&self, statement: &Statement) -> io::Result<()> {
        let name = statement.map.as_str();
        let layout_in = |entry: &Entry| {
            entry.compiled.user_maps.iter().map(|(_, layout)| layout).find(|layout| layout.name == name).cloned()
        };
        let holders: Vec<(&Entry, MapLayout)> = self
            .entries
            .iter()
            .filter(|entry| entry.is_attached())
            .filter_map(|entry| layout_in(entry).map(|layout| (entry, layout)))
            .collect();
        if holders.is_empty() {
            let known = self.map_names();
            let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
            return line(format_args!("no attached script has a map {name} (maps: {known})"));
        }
        for (entry, layout) in holders {
            report(self.on_map(entry, &layout, statement))?;
        }
        Ok(())
    }

    fn on_map(&self, entry: &Entry, layout: &MapLayout, statement: &Statement) -> Result<(), Failure> {
        let (id, name) = (entry.id, &statement.map);
        let change = match statement.action {
            Action::Print => return self.print_maps(entry, Some(name), statement.limit),
            Action::Clear => MapChange::Clear,
            Action::Zero => MapChange::Zero,
            Action::Delete if layout.keys.is_empty() => {
                return Ok(line(format_args!("#{id} {name} has no keys: clear({name}) empties it"))?)
            }
            Action::Delete => MapChange::Delete(
                layout.encode_key(&statement.key).map_err(|error| Failure::Script(format!("#{id} {error}")))?,
            ),
        };
        let deleted = entry.change(name, change).map_err(Failure::Script)?;
        match statement.action {
            Action::Clear => line(format_args!("#{id} {name} cleared"))?,
            Action::Zero => line(format_args!("#{id} {name} zeroed"))?,
            _ if deleted == 0 => line(format_args!("#{id} {name} has no such key"))?,
            _ => line(format_args!("#{id} {name}: key deleted"))?,
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
