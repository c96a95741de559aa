//! The builtin registry: one record per builtin (name, kind, arguments, check, one-line doc), found by one
//! lookup. Sema checks a call through its record's rule, which also picks its lowering; the prompt's completion,
//! the hints, `jl -l builtins` and the book's reference page (`book/src/builtins.md`, checked by a test)
//! read the same table. A new builtin is one record here, its check, and for a value with no IR of its own, a
//! lowering in `codegen/calls.rs`.

use super::{Checker, Scope};
use crate::ast;
use crate::codegen::calls::{self as lower, Lower};
use crate::diag::Span;
use crate::ir::{Builtin as Context, Expr, ExprKind, Lowered, PrintfAction, StmtKind, Type};
use jitterlib::agg::{AggKind, StackKind};
use std::ops::RangeInclusive;

/// What a builtin is, which decides where it may be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Assigned to a map, `@m[k] = hist(v)`, or alone for the map `@`.
    Aggregation,
    /// A call that is a statement and has no value: `printf(...)`, `delete(@m[k])`.
    Statement,
    /// A call with a value: `str(p)`, `has_key(@m, k)`.
    Function,
    /// A name with a value, written without parentheses: `pid`, `comm`.
    Variable,
}

impl Kind {
    /// What the listing calls it.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Aggregation => "aggregation",
            Kind::Statement => "statement",
            Kind::Function => "function",
            Kind::Variable => "variable",
        }
    }
}

/// One builtin.
pub struct Builtin {
    /// The name it is written with.
    pub name: &'static str,
    /// Its arguments as written in the listing, `"v, min, max, step"` (empty for none, or for a variable).
    pub params: &'static str,
    /// One line saying what it is.
    pub doc: &'static str,
    pub(super) rule: Rule,
}

/// How sema checks a builtin, and so how it lowers.
pub(super) enum Rule {
    /// The aggregation kind a call asks for, given its value's type and its other arguments (arity checked).
    Aggregation {
        arity: RangeInclusive<usize>,
        kind: fn(&mut Checker, Option<Type>, &[ast::Expr], &mut Scope) -> Option<AggKind>,
    },
    /// A statement.
    Statement(fn(&mut Checker, &Call, &mut Scope) -> Option<StmtKind>),
    /// A statement whose call may also be a value, checked by `check` and computed by `lower` (`delete()` says
    /// whether it deleted an entry).
    StatementValue {
        statement: fn(&mut Checker, &Call, &mut Scope) -> Option<StmtKind>,
        check: fn(&mut Checker, &Call, &mut Scope) -> Option<Operands>,
        lower: Lower,
    },
    /// A call with a value.
    Function(fn(&mut Checker, &Call, &mut Scope) -> Option<Expr>),
    /// A call with a value checked into its operands and computed by `lower` (`codegen/calls.rs`).
    Lowered { check: fn(&mut Checker, &Call, &mut Scope) -> Option<Operands>, lower: Lower },
    /// A value read from the current context ([`crate::ir::Builtin`]).
    Context(Context),
    /// A name with a value computed by sema.
    Variable(fn(&mut Checker, Span, &mut Scope) -> Option<Expr>),
    /// A name whose value of type `ty` is computed by `lower`.
    LoweredVariable { ty: Type, lower: Lower },
}

/// What the check of a lowered call found: the map it reads, its arguments, its value's type.
pub(super) struct Operands {
    pub map: Option<usize>,
    pub args: Vec<Expr>,
    pub ty: Type,
}

/// A call as written: `name(args)`.
pub(super) struct Call<'a> {
    pub name: &'a str,
    pub name_span: Span,
    pub args: &'a [ast::Expr],
    /// The whole call.
    pub span: Span,
}

impl Builtin {
    /// What it is.
    pub fn kind(&self) -> Kind {
        match self.rule {
            Rule::Aggregation { .. } => Kind::Aggregation,
            Rule::Statement(_) | Rule::StatementValue { .. } => Kind::Statement,
            Rule::Function(_) | Rule::Lowered { .. } => Kind::Function,
            Rule::Context(_) | Rule::Variable(_) | Rule::LoweredVariable { .. } => Kind::Variable,
        }
    }

    /// How it is written: `pid`, `count()`, `lhist(v, min, max, step)`.
    pub fn usage(&self) -> String {
        match self.kind() {
            Kind::Variable => self.name.to_string(),
            _ => format!("{}({})", self.name, self.params),
        }
    }
}

/// Every builtin, in the order hints and listings show them.
pub static REGISTRY: &[Builtin] = &[
    aggregation("count", "", 0..=0, "how many times it ran", |_, _, _, _| Some(AggKind::Count)),
    aggregation("sum", "v", 1..=1, "the sum of the values", |_, _, _, _| Some(AggKind::Sum)),
    aggregation("min", "v", 1..=1, "the smallest value", |_, _, _, _| Some(AggKind::Min)),
    aggregation("max", "v", 1..=1, "the largest value", |_, _, _, _| Some(AggKind::Max)),
    aggregation("avg", "v", 1..=1, "the mean of the values", |_, _, _, _| Some(AggKind::Avg)),
    aggregation("stats", "v", 1..=1, "count, mean and total of the values", |_, _, _, _| Some(AggKind::Stats)),
    aggregation(
        "hist",
        "v[, k]",
        1..=2,
        "a log2 histogram, 2^k rows per power of two (time units for durations)",
        |c, value, rest, s| match rest.first() {
            Some(bits) => c.hist_bits(bits, s),
            None if value == Some(Type::Duration) => Some(AggKind::TimeHist),
            None => Some(AggKind::Hist { bits: 0 }),
        },
    ),
    aggregation("lhist", "v, min, max, step", 4..=4, "a linear histogram, as bpftrace's buckets", |c, _, rest, s| {
        c.lhist(rest, s)
    }),
    aggregation(
        "tseries",
        "v, interval, n[, agg]",
        3..=4,
        "the value in each of the last n intervals (the last one written, or \"avg\", \"max\", \"min\", \"sum\")",
        |c, _, rest, s| c.tseries(rest, s),
    ),
    aggregation("quantiles", "v", 1..=1, "p50, p90, p99 and p99.9, within 6.25 %", |_, _, _, _| {
        Some(AggKind::Quantiles)
    }),
    statement("printf", "format, args...", "prints a formatted line", |c, call, s| {
        c.printf(call.args, call.span, s, PrintfAction::Print)
    }),
    statement("errorf", "format, args...", "prints a formatted error on stderr, where it is called", |c, call, s| {
        c.printf(call.args, call.span, s, PrintfAction::Error)
    }),
    statement("warnf", "format, args...", "prints a formatted warning on stderr, where it is called", |c, call, s| {
        c.printf(call.args, call.span, s, PrintfAction::Warning)
    }),
    statement("exit", "[code]", "ends the script (jl exits with code, 0 without one)", |c, call, s| c.exit(call, s)),
    Builtin {
        name: "delete",
        params: "@m[k]",
        doc: "deletes a map entry (also `delete(@m, k)`); as a value, whether there was one",
        rule: Rule::StatementValue {
            statement: |c, call, s| {
                let (map, keys) = c.delete(call, s)?;
                Some(StmtKind::Delete { map, keys })
            },
            check: |c, call, s| c.delete_value(call, s),
            lower: lower::delete,
        },
    },
    statement(
        "print",
        "@m[, top[, div]]",
        "prints a map now (its top entries, values divided by div), or any other value",
        |c, call, s| c.print(call, s),
    ),
    statement(
        "assert",
        "cond, \"message\"",
        "when cond is false: an error with the message, and exit(1)",
        |c, call, s| c.assert(call, s),
    ),
    statement(
        "join",
        "arr[, delim]",
        "prints the strings of a NULL-terminated array of char * (args.argv) on one line, separated by delim",
        |c, call, s| c.join(call, s),
    ),
    statement("clear", "@m", "empties a map", |c, call, s| c.map_action(call, s)),
    statement("zero", "@m", "sets every value of a map to zero", |c, call, s| c.map_action(call, s)),
    statement("outlier", "threshold", "reports each event whose dur is at least threshold", |c, call, s| {
        c.outlier(call.name_span, call.args, s)
    }),
    statement("time", "[format]", "prints the wall-clock time", |c, call, _| c.time(call.name_span, call.args)),
    statement("signal", "sig", "sends a signal to the current process (--unsafe)", |c, call, s| {
        c.signal(call.name_span, call.args, call.span, s)
    }),
    statement("system", "format, args...", "runs a shell command (--unsafe)", |c, call, s| {
        c.system(call.args, call.span, s)
    }),
    statement("cat", "format, args...", "prints the contents of a file (its first 10240 bytes)", |c, call, s| {
        c.printf(call.args, call.span, s, PrintfAction::Cat)
    }),
    Builtin {
        name: "write_user",
        params: "dst, \"string\", len",
        doc: "copies the first len bytes of a string to the user address dst (--unsafe); as a value, whether it did",
        rule: Rule::StatementValue {
            statement: |c, call, s| {
                let Operands { args, ty, .. } = c.write_user(call, s)?;
                let lower = lower::write_user;
                Some(StmtKind::Effect {
                    value: Expr { kind: ExprKind::Call(Lowered { map: None, args, lower }), ty, span: call.span },
                })
            },
            check: |c, call, s| c.write_user(call, s),
            lower: lower::write_user,
        },
    },
    function("ksym", "addr", "the kernel symbol at an address", |c, call, s| c.ksym(call, s)),
    function(
        "usym",
        "addr",
        "the user-space function holding an address of the process (hex when none)",
        |c, call, s| c.usym(call, s),
    ),
    function(
        "uaddr",
        "\"symbol\"",
        "the address of a variable or function of the probed binary (uprobes), where the process loaded it",
        |c, call, s| c.uaddr(call, s),
    ),
    function(
        "cgroup_path",
        "id[, \"filter\"]",
        "the paths of a cgroup id in the mounted hierarchies (`unified:/user.slice`), those the filter names",
        |c, call, s| c.cgroup_path(call, s),
    ),
    function("kaddr", "\"symbol\"", "the address of a kernel symbol", |c, call, s| {
        c.kaddr(call.name_span, call.args, call.span, s)
    }),
    function("str", "ptr[, size]", "a kernel string, or a script argument `str($1)`", |c, call, s| {
        c.str_call(call.name_span, call.args, call.span, s)
    }),
    function("buf", "ptr, len", "bytes at an address, printed with %r", |c, call, s| {
        c.buf_call(call.name_span, call.args, call.span, s)
    }),
    function(
        "strftime",
        "format, nsecs",
        "a time, printed with its strftime(3) format (and %f: microseconds)",
        |c, call, s| c.strftime(call.name_span, call.args, s),
    ),
    function("ntop", "[af, ]addr", "an IPv4 or IPv6 address as text", |c, call, s| {
        c.network_call(call.name, call.name_span, call.args, call.span, s)
    }),
    function("ntohs", "v", "a 16-bit value from network to host order", |c, call, s| {
        c.network_call(call.name, call.name_span, call.args, call.span, s)
    }),
    function("ntohl", "v", "a 32-bit value from network to host order", |c, call, s| {
        c.network_call(call.name, call.name_span, call.args, call.span, s)
    }),
    lowered(
        "has_key",
        "@m, k",
        "whether the map has an entry for the key",
        |c, call, s| c.has_key(call, s),
        lower::has_key,
    ),
    lowered(
        "len",
        "@m",
        "how many keys the map holds (counted with bpf_for_each_map_elem, Linux 5.13)",
        |c, call, s| c.len(call, s),
        lower::len,
    ),
    lowered(
        "strncmp",
        "s1, s2, n",
        "0 when the strings agree in their first n bytes, else 1",
        |c, call, s| c.strncmp(call, s),
        lower::strncmp,
    ),
    lowered(
        "strcontains",
        "haystack, needle",
        "true when the needle occurs in the haystack (an empty one always does), else false",
        |c, call, s| c.strcontains(call, s),
        crate::codegen::strcontains::strcontains,
    ),
    lowered(
        "strstr",
        "haystack, needle",
        "where the needle first occurs in the haystack (an empty one at 0), else -1",
        |c, call, s| c.strstr(call, s),
        crate::codegen::strcontains::strstr,
    ),
    lowered(
        "strlen",
        "s",
        "the bytes of a string before its first NUL",
        |c, call, s| c.strlen(call, s),
        crate::codegen::strcontains::strlen,
    ),
    function("strerror", "errno", "the C library's message for an error number (a constant)", |c, call, s| {
        c.strerror(call, s)
    }),
    function("signal_name", "sig", "the C library's name of a signal number (a constant), else N/A", |c, call, s| {
        c.signal_name(call, s)
    }),
    function(
        "pton",
        "\"addr\"",
        "an IPv4 or IPv6 address literal as bytes in network order, for ntop()",
        |c, call, _| c.pton(call),
    ),
    function(
        "getopt",
        "\"name\"[, default[, description]]",
        "a named option, `-- --name=value` or `--arg name=value`",
        |c, call, _| c.getopt(call),
    ),
    function(
        "reg",
        "\"name\"",
        "a saved register (`ip`, `sp`, `di`, ...) in kprobes, uprobes and perf events",
        |c, call, s| c.reg(call, s),
    ),
    function(
        "sizeof",
        "type or value",
        "the bytes a type, or a value's type, takes (known when compiling)",
        |c, call, s| c.sizeof(call, s),
    ),
    function(
        "offsetof",
        "struct NAME, member",
        "the byte offset of a member (`a.b`: of a nested struct's) in a struct (known when compiling)",
        |c, call, _| c.offsetof(call),
    ),
    function("bswap", "v", "the value's bytes in reverse order (as wide as its type)", |c, call, s| c.bswap(call, s)),
    function("kstack", "[mode, ][frames]", "the kernel stack", |c, call, s| {
        c.stack_call(call.name, call.name_span, call.args, call.span, s)
    }),
    function("ustack", "[mode, ][frames]", "the user stack", |c, call, s| {
        c.stack_call(call.name, call.name_span, call.args, call.span, s)
    }),
    context("pid", Context::Pid, "the process id (in jl's pid namespace, as bpftrace: 0 for a task outside it)"),
    context("tid", Context::Tid, "the thread id (in jl's pid namespace)"),
    function(
        "pid",
        "[curr_ns|init]",
        "the process id as seen from jl's pid namespace (as `pid`) or the initial one",
        |c, call, _| c.pid_call(call, false),
    ),
    function(
        "tid",
        "[curr_ns|init]",
        "the thread id as seen from jl's pid namespace (as `tid`) or the initial one",
        |c, call, _| c.pid_call(call, true),
    ),
    context("uid", Context::Uid, "the user id"),
    context("gid", Context::Gid, "the group id"),
    variable(
        "username",
        "the name of the user (`uid`), looked up when printed (the id when it has none)",
        |c, span, _| Some(c.user_name(span)),
    ),
    context("cpu", Context::Cpu, "the CPU number"),
    context("nsecs", Context::Nsecs, "nanoseconds since boot (a clock reading: two subtract into a duration)"),
    function(
        "nsecs",
        "[clock]",
        "the clock named: monotonic (as `nsecs`), boot (counting suspend) or tai (atomic time, Linux 6.1)",
        |c, call, _| c.nsecs_call(call),
    ),
    context("comm", Context::Comm, "the task's name"),
    context("cgroup", Context::Cgroup, "the cgroup v2 id of the task"),
    variable("ppid", "the id of the parent (the thread that forked this process)", |c, span, s| {
        c.task_member(PARENT_PID, span, s)
    }),
    variable("pcomm", "the name of the parent (the thread that forked this process)", |c, span, s| {
        c.task_member(PARENT_COMM, span, s)
    }),
    variable("leader_tid", "the thread id of the thread group's leader", |c, span, s| {
        c.task_member(LEADER_TID, span, s)
    }),
    variable("leader_comm", "the name of the thread group's leader", |c, span, s| c.task_member(LEADER_COMM, span, s)),
    function("ppid", "[task]", "`ppid` of a task (a `struct task_struct *`)", |c, call, s| {
        c.task_call(call, PARENT_PID, s)
    }),
    function("pcomm", "[task]", "`pcomm` of a task", |c, call, s| c.task_call(call, PARENT_COMM, s)),
    function("leader_tid", "[task]", "`leader_tid` of a task", |c, call, s| c.task_call(call, LEADER_TID, s)),
    function("leader_comm", "[task]", "`leader_comm` of a task", |c, call, s| c.task_call(call, LEADER_COMM, s)),
    context("curtask", Context::CurTask, "the current task_struct"),
    context(
        "ctx",
        Context::Ctx,
        "the program's context, a `void *`: pt_regs in kprobes and uprobes, bpf_perf_event_data in perf events",
    ),
    context("elapsed", Context::Elapsed, "the time since the script started"),
    context("kstack", Context::Stack(StackKind::KERNEL), "the kernel stack"),
    context("ustack", Context::Stack(StackKind::USER), "the user stack"),
    variable("ncpus", "how many CPUs the machine can have", |c, span, _| c.ncpus(span)),
    lowered_variable("jiffies", Type::U64, "the kernel's jiffies counter (64 bits)", lower::jiffies),
    lowered_variable("numaid", Type::U64, "the NUMA node of the CPU", lower::numaid),
    lowered_variable("rand", Type::U64, "a pseudo-random 32-bit number", lower::rand),
    variable("probe", "the probe's name", |c, span, s| Some(c.probe_name(span, s))),
    variable(
        "probetype",
        "the probe's kind: `tracepoint`, `interval`, ... (`special` for BEGIN and END)",
        |c, span, s| Some(c.probe_type(span, s)),
    ),
    variable(
        "usermode",
        "1 when the probe fired in user code (BEGIN and END: 1, tracepoints: 0), else 0",
        |c, span, s| c.usermode(span, s),
    ),
    variable("netns", "the inode number of the task's network namespace", |c, span, s| c.netns(span, s)),
];

/// The members of a task that `ppid`, `pcomm`, `leader_tid` and `leader_comm` read (each with whether it is
/// reached through a pointer), as bpftrace 0.27's: the parent is `real_parent`, the thread that forked the process.
const PARENT_PID: &[(&str, bool)] = &[("real_parent", true), ("pid", true)];
const PARENT_COMM: &[(&str, bool)] = &[("real_parent", true), ("comm", true)];
const LEADER_TID: &[(&str, bool)] = &[("group_leader", true), ("pid", true)];
const LEADER_COMM: &[(&str, bool)] = &[("group_leader", true), ("comm", true)];

/// The builtin called `name(...)`.
pub(super) fn call(name: &str) -> Option<&'static Builtin> {
    REGISTRY.iter().find(|builtin| builtin.name == name && builtin.kind() != Kind::Variable)
}

/// The builtin variable `name`.
pub(super) fn variable_named(name: &str) -> Option<&'static Builtin> {
    REGISTRY.iter().find(|builtin| builtin.name == name && builtin.kind() == Kind::Variable)
}

/// Whether a builtin, called or a variable, is named `name`: a user macro of another arity leaves it be.
pub fn exists(name: &str) -> bool {
    REGISTRY.iter().any(|builtin| builtin.name == name)
}

/// The names of the builtins of one kind group: calls (`false`) or variables (`true`).
pub(super) fn names(variables: bool) -> Vec<&'static str> {
    REGISTRY.iter().filter(|builtin| (builtin.kind() == Kind::Variable) == variables).map(|b| b.name).collect()
}

/// The name a context value is written with.
pub(super) fn context_name(wanted: Context) -> Option<&'static str> {
    REGISTRY.iter().find(|builtin| matches!(builtin.rule, Rule::Context(known) if known == wanted)).map(|b| b.name)
}

const fn aggregation(
    name: &'static str,
    params: &'static str,
    arity: RangeInclusive<usize>,
    doc: &'static str,
    kind: fn(&mut Checker, Option<Type>, &[ast::Expr], &mut Scope) -> Option<AggKind>,
) -> Builtin {
    Builtin { name, params, doc, rule: Rule::Aggregation { arity, kind } }
}

const fn statement(
    name: &'static str,
    params: &'static str,
    doc: &'static str,
    check: fn(&mut Checker, &Call, &mut Scope) -> Option<StmtKind>,
) -> Builtin {
    Builtin { name, params, doc, rule: Rule::Statement(check) }
}

const fn function(
    name: &'static str,
    params: &'static str,
    doc: &'static str,
    check: fn(&mut Checker, &Call, &mut Scope) -> Option<Expr>,
) -> Builtin {
    Builtin { name, params, doc, rule: Rule::Function(check) }
}

const fn lowered(
    name: &'static str,
    params: &'static str,
    doc: &'static str,
    check: fn(&mut Checker, &Call, &mut Scope) -> Option<Operands>,
    lower: Lower,
) -> Builtin {
    Builtin { name, params, doc, rule: Rule::Lowered { check, lower } }
}

const fn lowered_variable(name: &'static str, ty: Type, doc: &'static str, lower: Lower) -> Builtin {
    Builtin { name, params: "", doc, rule: Rule::LoweredVariable { ty, lower } }
}

const fn context(name: &'static str, value: Context, doc: &'static str) -> Builtin {
    Builtin { name, params: "", doc, rule: Rule::Context(value) }
}

const fn variable(
    name: &'static str,
    doc: &'static str,
    check: fn(&mut Checker, Span, &mut Scope) -> Option<Expr>,
) -> Builtin {
    Builtin { name, params: "", doc, rule: Rule::Variable(check) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The book's index of builtins, between its markers, is this table.
    fn book_table() -> String {
        let mut table = String::from("| builtin | kind | what it is |\n|---|---|---|\n");
        for builtin in REGISTRY {
            table.push_str(&format!("| `{}` | {} | {} |\n", builtin.usage(), builtin.kind().describe(), builtin.doc));
        }
        table
    }

    #[test]
    fn the_book_lists_every_builtin() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../book/src/builtins.md");
        let page = std::fs::read_to_string(path).expect("read the book's builtins page");
        let (begin, end) = ("<!-- registry: begin -->\n", "<!-- registry: end -->");
        let start = page.find(begin).expect("begin marker") + begin.len();
        let stop = page.find(end).expect("end marker");
        let expected = book_table();
        if std::env::var_os("JL_BLESS").is_some() {
            std::fs::write(path, format!("{}{expected}{}", &page[..start], &page[stop..])).expect("write the page");
            return;
        }
        assert_eq!(
            page[start..stop],
            expected,
            "book/src/builtins.md drifted from the registry (JL_BLESS=1 rewrites it)"
        );
    }

    /// Compiles `BEGIN { ... }` against the bundled fixture, with `--unsafe` (signal, system).
    fn compiles(body: &str) -> bool {
        let kernel = jitterlib::kernel::FixtureKernel::bundled();
        let options = crate::CompileOptions { unsafe_actions: true, ..crate::CompileOptions::default() };
        crate::compile_with(&format!("BEGIN {{ @m[1] = 1; {body} }}"), &kernel, &options).is_ok()
    }

    #[test]
    fn each_call_takes_the_arguments_its_record_shows() {
        for builtin in REGISTRY {
            let call = |args: &str| match builtin.kind() {
                Kind::Aggregation => format!("@a = {}({args});", builtin.name),
                Kind::Statement => format!("{}({args});", builtin.name),
                Kind::Function => format!("@v = {}({args});", builtin.name),
                Kind::Variable => String::new(),
            };
            if builtin.kind() == Kind::Variable {
                continue;
            }
            // No arguments compile exactly when the record shows none, or only optional ones.
            let optional =
                builtin.params.is_empty() || (builtin.params.starts_with('[') && builtin.params.ends_with(']'));
            assert_eq!(compiles(&call("")), optional, "`{}()` against `{}`", builtin.name, builtin.usage());
            // Six arguments are more than any builtin takes: an error, never a panic.
            assert!(!compiles(&call("1, 2, 3, 4, 5, 6")), "`{}` with six arguments", builtin.name);
        }
    }

    #[test]
    fn one_record_per_name_and_kind() {
        for (index, builtin) in REGISTRY.iter().enumerate() {
            let twin = REGISTRY[..index].iter().any(|other| {
                other.name == builtin.name && (other.kind() == Kind::Variable) == (builtin.kind() == Kind::Variable)
            });
            assert!(!twin, "`{}` has two records", builtin.name);
            assert!(!builtin.doc.is_empty() && !builtin.doc.ends_with('.'), "`{}`: one line, no period", builtin.name);
        }
    }
}
