//! The checked program: names resolved, types known, maps and printf formats collected. Codegen reads only this.

use crate::callsite::CallSite;
use crate::diag::{Diagnostics, Span};
use crate::printf::Format;
use jitterlib::agg::{AggKind, ArrayLayout, EnumNames, MapLayout, StackKind, TimeFormat};
use jitterlib::kernel::StructName;
use jitterlib::maps::MapKind;
use jitterlib::probe::{Field, Probe};
use std::sync::Mutex;

pub use crate::ast::{BinaryOp, UnaryOp};

/// The type of a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    /// A 64-bit integer.
    Int {
        /// Whether comparisons, division and printing treat it as signed.
        signed: bool,
    },
    /// A truth value (`true`, `a < b`, `!x`): 0 or 1 in a register, printed `true` or `false`.
    Bool,
    /// A signed integer of an enum the script defines (`ONE`, `(enum Foo)x`), printed by its enumerator's name.
    Enum(EnumNames),
    /// A name from a fixed table carried as its index (a softirq's `name`, an skb hop's `hop`, once
    /// [`ExprKind::NameText`] is peeled off): an 8-byte integer in map keys and comparisons, printed as its name.
    Name(EnumNames),
    /// Nanoseconds: an unsigned integer printed with time units.
    Duration,
    /// A clock reading (`nsecs`, `nsecs(boot)`): nanoseconds since the clock's origin, printed as that integer,
    /// as bpftrace prints `nsecs`. Two readings subtract into a [`Type::Duration`]; a reading plus or minus a
    /// duration or an integer is a reading.
    Instant,
    /// A kernel address printed as `symbol+offset`.
    Symbol,
    /// `usym(addr)`: a user-space address then the process it belongs to (8 bytes each, in a stack buffer),
    /// printed as the name of the function holding it, or in hex.
    UserSymbol,
    /// `cgroup_path(id[, filter])`: a cgroup id in a register, printed as its paths in the cgroup hierarchies the
    /// filter selects (looked up when printed).
    CgroupPath(jitterlib::cgroup::CgroupFilter),
    /// `username`: a user id in a register, printed as the user's name (looked up when printed).
    UserName,
    /// What ran on a CPU during a stall (a `stall()` probe's `culprit`), printed `timer:estimation_timer`.
    Culprit,
    /// A NUL-padded string of this many bytes (a multiple of 8).
    Str(u32),
    /// A stack id (`kstack`, `ustack(5)`; for user stacks with the process in the high 32 bits): usable as a
    /// map key or value and in printf `%s`, printed as the stack's symbols.
    Stack(StackKind),
    /// A `nsecs` timestamp printed as wall-clock time with its `strftime` format (`strftime(FORMAT, nsecs)`): a
    /// printf argument, a value, a map key or value.
    Timestamp(TimeFormat),
    /// A typed address (`curtask`, `(struct sk_buff *)arg0`, `(int32 *)p`): an integer printed in hex, whose
    /// arithmetic counts in pointees, read through with `->` (a struct), `*` and `[i]` (see [`PointerType`]).
    Pointer(PointerType),
    /// `ntop()` of a 4-byte address: the address in the low 4 bytes of a register (network byte order in
    /// memory), printed `10.0.0.1`.
    Ipv4,
    /// `ntop()` of a 16-byte address: a 16-byte buffer, printed `fe80::1`.
    Ipv6,
    /// `ntop(af, addr)` with a family known only at run time: a 24-byte buffer, the family (8 bytes) then the
    /// address (16 bytes, an IPv4 address in the first 4), printed as the family says.
    Inet,
    /// `buf(ptr, len)`: `len` bytes in a buffer rounded up to 8 bytes, printed with printable ASCII as is and
    /// other bytes as `\xNN`.
    Buf(u32),
    /// A C array of integers or bools (`(int8[8])12345`, `(bool[2])x`, `(int8[])"hi"`): its elements one after
    /// another in a buffer rounded up to 8 bytes, printed `[57,48,0]`.
    Array(ArrayLayout),
    /// A tuple `(1, "abc", comm)`: its elements one after another, each in its own size (see [`TupleType`]).
    Tuple(TupleType),
    /// No value (calls such as `exit()`).
    Void,
}

/// What a pointer points to, through how many `*`: `int32 **` is an `int32` pointee at depth 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PointerType {
    /// The type at the end of the chain of pointers.
    pub pointee: Pointee,
    /// The number of `*` (1 or more).
    pub depth: u8,
}

/// The type a chain of pointers ends at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pointee {
    /// A struct or union of the kernel's BTF or of the script.
    Record(StructName),
    /// Nothing known (`void *`): `p + 1` moves one byte, `*p` is refused.
    Void,
    /// An integer of `bytes` bytes (1, 2, 4 or 8).
    Int {
        /// Its size.
        bytes: u8,
        /// Whether it is signed.
        signed: bool,
    },
}

impl PointerType {
    /// `struct NAME *`.
    pub fn to_record(name: StructName) -> PointerType {
        PointerType { pointee: Pointee::Record(name), depth: 1 }
    }

    /// The struct whose members `->` reads: `Some` for `struct NAME *` only.
    pub fn record(self) -> Option<StructName> {
        match (self.pointee, self.depth) {
            (Pointee::Record(name), 1) => Some(name),
            _ => None,
        }
    }

    /// What `*p` reads: a pointer one `*` shorter, or the integer at the end; `None` for a struct.
    pub fn target(self) -> Option<Type> {
        match (self.pointee, self.depth) {
            (_, depth) if depth > 1 => Some(Type::Pointer(PointerType { depth: depth - 1, ..self })),
            (Pointee::Int { signed, .. }, _) => Some(Type::Int { signed }),
            (Pointee::Record(_) | Pointee::Void, _) => None,
        }
    }

    /// The type as C writes it: `struct sk_buff *`, `uint8 **`.
    pub fn describe(self) -> String {
        let name = match self.pointee {
            Pointee::Record(name) => format!("struct {name}"),
            Pointee::Void => "void".to_string(),
            Pointee::Int { bytes, signed } => format!("{}int{}", if signed { "" } else { "u" }, u32::from(bytes) * 8),
        };
        format!("{name} {}", "*".repeat(usize::from(self.depth)))
    }
}

/// The element types of a tuple, and for a record (`(a=1, b="x")`) its field names. Interned for the life of
/// the process, so that [`Type`] stays `Copy`: a script names few tuple types, and the same elements (and
/// names) always give the same `TupleType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TupleType {
    elements: &'static [Type],
    names: Option<&'static [&'static str]>,
}

impl TupleType {
    /// The tuple type of these elements.
    pub fn new(elements: &[Type]) -> TupleType {
        TupleType::interned(elements, None)
    }

    /// The record type of these elements, named in order by `names` (as many).
    pub fn record(elements: &[Type], names: &[&str]) -> TupleType {
        TupleType::interned(elements, Some(names))
    }

    fn interned(elements: &[Type], names: Option<&[&str]>) -> TupleType {
        static INTERNED: Mutex<Vec<TupleType>> = Mutex::new(Vec::new());
        let mut interned = INTERNED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(known) = interned.iter().find(|known| known.elements == elements && known.names == names) {
            return *known;
        }
        let names = names.map(|names| {
            let leaked: Vec<&'static str> =
                names.iter().map(|name| &*Box::leak(name.to_string().into_boxed_str())).collect();
            &*Box::leak(leaked.into_boxed_slice())
        });
        let tuple = TupleType { elements: Box::leak(elements.to_vec().into_boxed_slice()), names };
        interned.push(tuple);
        tuple
    }

    /// The element types in order.
    pub fn elements(self) -> &'static [Type] {
        self.elements
    }

    /// A record's field names in order; `None` for a tuple.
    pub fn names(self) -> Option<&'static [&'static str]> {
        self.names
    }

    /// The byte offset of element `index` in the tuple.
    pub fn offset(self, index: usize) -> u32 {
        self.elements[..index].iter().map(|element| element.size()).sum()
    }
}

impl Type {
    /// The unsigned 64-bit integer type.
    pub const U64: Type = Type::Int { signed: false };
    /// The signed 64-bit integer type.
    pub const I64: Type = Type::Int { signed: true };

    /// The type that holds values of both `self` and `other` where they differ only in the sizes of strings
    /// (alone or in tuples): the longer of each, as bpftrace 0.27 widens a variable, a map's key or value and the
    /// two sides of `? :`. `None` where they differ otherwise.
    pub fn widest(self, other: Type) -> Option<Type> {
        match (self, other) {
            (Type::Str(a), Type::Str(b)) => Some(Type::Str(a.max(b))),
            (Type::Tuple(a), Type::Tuple(b)) if a.names() == b.names() && a.elements().len() == b.elements().len() => {
                let elements: Vec<Type> =
                    a.elements().iter().zip(b.elements()).map(|(x, y)| x.widest(*y)).collect::<Option<_>>()?;
                Some(Type::Tuple(match a.names() {
                    Some(names) => TupleType::record(&elements, names),
                    None => TupleType::new(&elements),
                }))
            }
            (a, b) if a == b => Some(a),
            _ => None,
        }
    }

    /// Whether the value lives in a register (everything but strings and void).
    pub fn is_scalar(self) -> bool {
        matches!(
            self,
            Type::Int { .. }
                | Type::Bool
                | Type::Enum(_)
                | Type::Duration
                | Type::Instant
                | Type::Symbol
                | Type::Culprit
                | Type::Pointer(_)
        )
    }

    /// The pointer type, if it is one.
    pub fn pointer(self) -> Option<PointerType> {
        match self {
            Type::Pointer(pointer) => Some(pointer),
            _ => None,
        }
    }

    /// Whether the value is computed into a register (integers, stack ids, IPv4 addresses), as opposed to a stack
    /// buffer.
    pub fn in_register(self) -> bool {
        self.is_scalar()
            || matches!(
                self,
                Type::Stack(_) | Type::Timestamp(_) | Type::Ipv4 | Type::CgroupPath(_) | Type::Name(_) | Type::UserName
            )
    }

    /// Whether printf prints it with `%s`.
    pub fn is_text(self) -> bool {
        matches!(
            self,
            Type::Str(_)
                | Type::Name(_)
                | Type::Symbol
                | Type::UserSymbol
                | Type::CgroupPath(_)
                | Type::UserName
                | Type::Culprit
                | Type::Ipv4
                | Type::Ipv6
                | Type::Inet
                | Type::Stack(_)
                | Type::Array(_)
        )
    }

    /// Whether comparisons and division are signed.
    pub fn is_signed(self) -> bool {
        matches!(self, Type::Int { signed: true })
    }

    /// Bytes the value takes in a map key, a map value or an event.
    pub fn size(self) -> u32 {
        match self {
            Type::Str(size) => size,
            Type::Ipv6 | Type::UserSymbol => 16,
            Type::Inet => 24,
            Type::Buf(len) => len.div_ceil(8) * 8,
            Type::Array(array) => array.bytes().div_ceil(8) * 8,
            Type::Tuple(tuple) => tuple.offset(tuple.elements().len()),
            Type::Void => 0,
            _ => 8,
        }
    }

    /// The name shown in diagnostics.
    pub fn describe(self) -> String {
        match self {
            Type::Int { signed: true } => "int64".into(),
            Type::Int { signed: false } => "uint64".into(),
            Type::Bool => "bool".into(),
            Type::Enum(names) => format!("enum {}", names.name()),
            Type::Name(names) => format!("{} name", names.name()),
            Type::Duration => "duration".into(),
            Type::Instant => "clock reading".into(),
            Type::Symbol => "kernel symbol".into(),
            Type::UserSymbol => "user symbol".into(),
            Type::CgroupPath(_) => "cgroup path".into(),
            Type::UserName => "user name".into(),
            Type::Culprit => "culprit".into(),
            Type::Str(size) => format!("string[{size}]"),
            Type::Stack(kind) => {
                let space = match (kind.mode, kind.user) {
                    (jitterlib::agg::StackMode::Symbols, true) => "user",
                    (jitterlib::agg::StackMode::Symbols, false) => "kernel",
                    (jitterlib::agg::StackMode::Raw, true) => "raw user",
                    (jitterlib::agg::StackMode::Raw, false) => "raw kernel",
                };
                match kind.frames {
                    jitterlib::agg::MAX_STACK_FRAMES => format!("{space} stack"),
                    frames => format!("{space} stack ({frames} frames)"),
                }
            }
            Type::Timestamp(_) => "timestamp".into(),
            Type::Pointer(pointer) => pointer.describe(),
            Type::Ipv4 => "IPv4 address".into(),
            Type::Ipv6 => "IPv6 address".into(),
            Type::Inet => "IP address".into(),
            Type::Buf(len) => format!("buffer[{len}]"),
            Type::Array(array) => array.describe(),
            Type::Tuple(tuple) => {
                let mut elements: Vec<String> = tuple.elements().iter().map(|element| element.describe()).collect();
                match tuple.names() {
                    Some(names) => {
                        elements
                            .iter_mut()
                            .zip(names)
                            .for_each(|(element, name)| *element = format!("{name}={element}"));
                        format!("record ({})", elements.join(", "))
                    }
                    None => format!("tuple ({})", elements.join(", ")),
                }
            }
            Type::Void => "nothing".into(),
        }
    }
}

/// A checked script.
#[derive(Debug)]
pub struct Checked {
    /// The frame limits of the stacks probes record (`kstack` 127, `kstack(5)` 5), one stack-trace map each,
    /// in map order; kernel and user stacks of one limit share a map.
    pub stacks: Vec<u32>,
    /// One entry per probe (a block with `a, b` gives two).
    pub probes: Vec<CheckedProbe>,
    /// Every user map, indexed by [`Stmt`] and [`ExprKind::MapRead`].
    pub maps: Vec<MapInfo>,
    /// Every `printf` format, indexed by [`StmtKind::Printf`].
    pub printfs: Vec<PrintfInfo>,
    /// Whether some probe reads `elapsed` (the program then records its start time).
    pub uses_elapsed: bool,
    /// `strftime` formats of `time()` statements and `strftime()` arguments, indexed by [`StmtKind::Time`] and
    /// [`Type::Timestamp`].
    pub time_formats: Vec<String>,
    /// Layouts of the `outlier()` reports, indexed by [`StmtKind::Outlier`].
    pub outliers: Vec<OutlierInfo>,
    /// What each `print(@m, top, div)` asks for, indexed by [`StmtKind::MapAction`].
    pub print_options: Vec<PrintOptions>,
    /// Warnings: the script compiles, but probably does not do what was meant.
    pub warnings: Diagnostics,
}

/// The layout of one `outlier()` report: named columns, in event order.
#[derive(Clone, Debug, PartialEq)]
pub struct OutlierInfo {
    /// The probe as written (`softirq("net_rx")`).
    pub probe: String,
    /// The threshold in nanoseconds.
    pub threshold: u64,
    /// Column names and types: [`OUTLIER_COLUMNS`] first, then the probe's other fields.
    pub columns: Vec<(String, Type)>,
}

/// The columns every outlier report starts with: `nsecs` at the event, CPU, task name, process and thread ids,
/// kernel stack id and the duration.
pub const OUTLIER_COLUMNS: [&str; 7] = ["nsecs", "cpu", "comm", "pid", "tid", "kstack", "dur"];

/// One probe with its block.
#[derive(Debug)]
pub struct CheckedProbe {
    /// The resolved probe.
    pub probe: Box<dyn Probe>,
    /// The predicate, if any.
    pub predicate: Option<Expr>,
    /// The block.
    pub body: Vec<Stmt>,
    /// Types of the `$variables`, indexed by [`ExprKind::Var`].
    pub vars: Vec<Type>,
    /// Where the probe is written.
    pub span: Span,
}

/// A user map.
#[derive(Clone, Debug)]
pub struct MapInfo {
    /// Layout used to create, decode and render it.
    pub layout: MapLayout,
    /// Types of its keys.
    pub key_types: Vec<Type>,
    /// Type of a plain (non-aggregation) map's value.
    pub value_type: Option<Type>,
    /// The BPF map type and size its `let @m = KIND(N);` declaration chose, if it has one.
    pub declared: Option<DeclaredMap>,
}

/// What a `let @m = KIND(N);` declaration chose for a keyed map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeclaredMap {
    /// A hash kind: [`MapKind::Hash`], [`MapKind::LruHash`], [`MapKind::PerCpuHash`] or [`MapKind::LruPerCpuHash`].
    pub kind: MapKind,
    /// The keys it holds.
    pub keys: u32,
}

/// A `printf` format with the types of its arguments.
#[derive(Clone, Debug)]
pub struct PrintfInfo {
    /// The parsed format.
    pub format: Format,
    /// Argument types, in order.
    pub args: Vec<Type>,
    /// What user space does with the rendered text.
    pub action: PrintfAction,
    /// Where the call is written.
    pub span: Span,
    /// For `errorf()` / `warnf()`, where it was called as printed before the message; filled in by
    /// [`crate::compile_with`], empty for other actions.
    pub site: CallSite,
}

/// The most of a file `cat()` prints unless the script's config block sets `max_cat_bytes`: bpftrace's default.
pub const CAT_MAX_BYTES: u64 = 10240;

/// The most strings `join()` prints: bpftrace's count.
pub const JOIN_MAX: u32 = 16;
/// The longest string jl reads: the largest size `str(ptr, n)` accepts.
pub const STR_MAX: u32 = 256;
/// The bytes `join()` reads of each string (a longer one is cut and counted).
pub const JOIN_STR_SIZE: u32 = STR_MAX;

/// What user space does with a rendered `printf`-style format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrintfAction {
    /// `printf`: print it.
    Print,
    /// `system`: run it with `/bin/sh -c` and print what it writes (needs `--unsafe`).
    System,
    /// `cat`: print the contents of the file it names (its first [`CAT_MAX_BYTES`] bytes, or the script's
    /// `max_cat_bytes`), as bpftrace does.
    Cat,
    /// `print(v)` of a value that is not a map: its one argument printed on a line of its own (a `value` object
    /// in JSON); the format is empty.
    Value,
    /// `join`: the first argument counts the strings after it that the kernel read; they are printed on one
    /// line with the format's text (the separator) between them.
    Join,
    /// `errorf`: print it on stderr after its [`PrintfInfo::site`] and `ERROR:`.
    Error,
    /// `warnf`: print it on stderr after its [`PrintfInfo::site`] and `WARNING:`.
    Warning,
}

impl PrintfAction {
    /// The function's name in the language.
    pub fn name(self) -> &'static str {
        match self {
            PrintfAction::Print => "printf",
            PrintfAction::System => "system",
            PrintfAction::Cat => "cat",
            PrintfAction::Value => "print",
            PrintfAction::Join => "join",
            PrintfAction::Error => "errorf",
            PrintfAction::Warning => "warnf",
        }
    }
}

/// A checked statement.
#[derive(Debug)]
pub struct Stmt {
    /// What it does.
    pub kind: StmtKind,
    /// Where it is written (a verifier rejection of its code points here).
    pub span: Span,
}

/// The kinds of checked statements.
#[derive(Debug)]
pub enum StmtKind {
    /// An aggregation update: `@m[keys] = KIND(value)`.
    Aggregate {
        /// Map index.
        map: usize,
        /// Key expressions.
        keys: Vec<Expr>,
        /// Aggregation.
        kind: AggKind,
        /// The aggregated value (`None` for `count()`).
        value: Option<Expr>,
    },
    /// `@m[keys] = value` on a plain map.
    Store {
        /// Map index.
        map: usize,
        /// Key expressions.
        keys: Vec<Expr>,
        /// The stored value.
        value: Expr,
    },
    /// `$var = value`.
    SetVar {
        /// Variable index.
        var: usize,
        /// The value.
        value: Expr,
    },
    /// `let $var;`: the variable holds zeros until assigned.
    Declare {
        /// Variable index.
        var: usize,
    },
    /// `if (cond) { then } else { otherwise }`.
    If {
        /// Condition.
        cond: Expr,
        /// Taken branch.
        then: Vec<Stmt>,
        /// Other branch.
        otherwise: Vec<Stmt>,
    },
    /// `printf(format, args)`: an event to user space.
    Printf {
        /// Format index.
        id: usize,
        /// Arguments.
        args: Vec<Expr>,
    },
    /// `join(array, delim)`: one event with the strings of a NULL-terminated array of `char *` (at most
    /// [`JOIN_MAX`] of [`JOIN_STR_SIZE`] bytes each), laid out as [`StmtKind::Printf`]'s with the
    /// [`PrintfAction::Join`] format `id`: how many strings were read, then the strings.
    Join {
        /// Format index: its arguments are the count and [`JOIN_MAX`] strings, its text the separator.
        id: usize,
        /// The array's address (an integer or a pointer).
        array: Expr,
    },
    /// `exit()`, `exit(code)`: jl stops, exiting with `code` (0 without one).
    Exit {
        /// The process's exit code, an integer expression (its low 8 bits are what the shell sees).
        code: Option<Expr>,
    },
    /// `time(FORMAT)`: user space prints the wall-clock time with [`Checked::time_formats`]`[format]`.
    Time {
        /// Format index.
        format: usize,
    },
    /// `outlier(THRESHOLD)`: when `slow` holds, a report with `columns` (see [`OutlierInfo`]).
    Outlier {
        /// Report layout index.
        id: usize,
        /// `dur >= THRESHOLD`.
        slow: Expr,
        /// The report's values, in [`OutlierInfo::columns`] order.
        columns: Vec<Expr>,
    },
    /// `signal(SIG)`: `bpf_send_signal` to the current process (needs `--unsafe`).
    Signal {
        /// Signal number.
        signal: u32,
    },
    /// A call run for what it does, its value dropped: `write_user(dst, src, len);`.
    Effect {
        /// The call.
        value: Expr,
    },
    /// `return`: leaves the probe.
    Return,
    /// `break`: leaves the innermost loop.
    Break,
    /// `continue`: starts the next iteration of the innermost loop.
    Continue,
    /// `delete(@m[keys])`.
    Delete {
        /// Map index.
        map: usize,
        /// Key expressions.
        keys: Vec<Expr>,
    },
    /// `print(@m[, top[, div]])`, `clear(@m)`, `zero(@m)`: an event asking user space to act on a whole map.
    MapAction {
        /// Map index.
        map: usize,
        /// What to do.
        action: MapAction,
        /// For `print`, its [`PrintOptions`]: an index in [`Checked::print_options`] (0 for the others).
        options: u32,
    },
    /// `while (cond) { body }`, bounded by [`WHILE_MAX_ITERATIONS`].
    While {
        /// Run once before the loop (a `for` loop's variable; empty for `while`).
        init: Vec<Stmt>,
        /// Checked before each iteration.
        cond: Expr,
        /// The loop body.
        body: Vec<Stmt>,
        /// Run after each iteration, also after a `continue` (a `for` loop's increment; empty for `while`).
        step: Vec<Stmt>,
    },
    /// `for ($kv : @m) { body }`: the body as a callback of `bpf_for_each_map_elem`, run once per entry with the
    /// variable `var` set to the tuple (key, value). The callback works on a copy of the probe's stack frame
    /// (variables included), copied back after each entry.
    ForMap {
        /// Map index.
        map: usize,
        /// The loop variable.
        var: usize,
        /// The loop body.
        body: Vec<Stmt>,
        /// For a `count()`, `sum()`, `min()`, `max()` or `avg()` map, how many CPUs' values each entry's value
        /// merges (see [`ExprKind::AggRead`]); `None` for a plain map.
        cpus: Option<u32>,
        /// The variable a `return` in the body (or a nested loop's) sets to 1 before it stops the loop, so that
        /// the probe returns after it; `None` when the body has no `return`.
        returned: Option<usize>,
    },
    /// `unroll(count) { body }`.
    Unroll {
        /// Number of copies.
        count: u32,
        /// The repeated statements.
        body: Vec<Stmt>,
    },
}

/// Most iterations of a `while` loop: the loop stops after this many even if its condition still holds, so
/// the verifier can always prove that it ends.
pub const WHILE_MAX_ITERATIONS: u32 = 1024;

/// Most copies `unroll(N)` makes.
pub const UNROLL_MAX: u64 = 100;

/// What user space does with a whole map when the BPF side asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapAction {
    /// Print it now.
    Print,
    /// Delete every entry.
    Clear,
    /// Reset every value (done as a clear: zeroed keys are not printed).
    Zero,
}

impl MapAction {
    /// The statement's name in the language.
    pub fn name(self) -> &'static str {
        match self {
            MapAction::Print => "print",
            MapAction::Clear => "clear",
            MapAction::Zero => "zero",
        }
    }
}

/// A checked expression.
#[derive(Clone, Debug)]
pub struct Expr {
    /// What it computes.
    pub kind: ExprKind,
    /// Its type.
    pub ty: Type,
    /// Where it is written.
    pub span: Span,
}

impl Expr {
    /// The value of an integer expression made of constants (`1 + 1`, `-2`, `1 << 3`), as bpftrace folds
    /// literals; `None` for anything else, or when the arithmetic overflows, divides by zero or by a negative.
    pub fn constant(&self) -> Option<i64> {
        match &self.kind {
            ExprKind::Const(value) => Some(*value),
            ExprKind::Unary(UnaryOp::Neg, operand) => operand.constant()?.checked_neg(),
            ExprKind::Unary(UnaryOp::BitNot, operand) => Some(!operand.constant()?),
            ExprKind::Binary(op, lhs, rhs) => {
                let (a, b) = (lhs.constant()?, rhs.constant()?);
                let shift = u32::try_from(b).ok().filter(|bits| *bits < 64);
                match op {
                    BinaryOp::Add => a.checked_add(b),
                    BinaryOp::Sub => a.checked_sub(b),
                    BinaryOp::Mul => a.checked_mul(b),
                    BinaryOp::Div if a >= 0 && b > 0 => Some(a / b),
                    BinaryOp::Rem if a >= 0 && b > 0 => Some(a % b),
                    BinaryOp::BitAnd => Some(a & b),
                    BinaryOp::BitOr => Some(a | b),
                    BinaryOp::BitXor => Some(a ^ b),
                    BinaryOp::Shl => a.checked_shl(shift?),
                    BinaryOp::Shr if a >= 0 => a.checked_shr(shift?),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Whether `found` holds for this expression or one inside it.
    pub fn any(&self, found: &mut dyn FnMut(&Expr) -> bool) -> bool {
        if found(self) {
            return true;
        }
        let inner: Vec<&Expr> = match &self.kind {
            ExprKind::Const(_)
            | ExprKind::Str(_)
            | ExprKind::Builtin(_)
            | ExprKind::Field(_)
            | ExprKind::Var(_)
            | ExprKind::VarAddress(_) => Vec::new(),
            ExprKind::MapRead { keys, .. } | ExprKind::AggRead { keys, .. } => keys.iter().collect(),
            ExprKind::Call(call) => call.args.iter().collect(),
            ExprKind::Tuple(elements) => elements.iter().collect(),
            ExprKind::Unary(_, operand)
            | ExprKind::NameText(operand)
            | ExprKind::KernelStr(operand)
            | ExprKind::Buf(operand)
            | ExprKind::ByteSwap { operand, .. }
            | ExprKind::Convert { operand, .. }
            | ExprKind::TupleElement { tuple: operand, .. }
            | ExprKind::KernelRead(KernelRead { pointer: operand, .. })
            | ExprKind::StructValue { read: KernelRead { pointer: operand, .. }, .. } => vec![operand],
            ExprKind::Binary(_, lhs, rhs) | ExprKind::StrCompare { lhs, rhs, .. } => vec![lhs, rhs],
            ExprKind::Inet { family, address } => vec![family, address],
            ExprKind::Element { value, index, .. } => vec![value, index],
            ExprKind::Ternary { cond, then, otherwise } => vec![cond, then, otherwise],
        };
        inner.into_iter().any(|expr| expr.any(found))
    }
}

impl Stmt {
    /// Whether `found` holds for an expression of this statement or of one inside it.
    pub fn any_expr(&self, found: &mut dyn FnMut(&Expr) -> bool) -> bool {
        let (exprs, bodies): (Vec<&Expr>, Vec<&[Stmt]>) = match &self.kind {
            StmtKind::Aggregate { keys, value, .. } => (keys.iter().chain(value).collect(), Vec::new()),
            StmtKind::Store { keys, value, .. } => (keys.iter().chain([value]).collect(), Vec::new()),
            StmtKind::SetVar { value, .. } | StmtKind::Effect { value } => (vec![value], Vec::new()),
            StmtKind::Printf { args, .. } => (args.iter().collect(), Vec::new()),
            StmtKind::Join { array, .. } => (vec![array], Vec::new()),
            StmtKind::Exit { code } => (code.iter().collect(), Vec::new()),
            StmtKind::Outlier { slow, columns, .. } => ([slow].into_iter().chain(columns).collect(), Vec::new()),
            StmtKind::Delete { keys, .. } => (keys.iter().collect(), Vec::new()),
            StmtKind::If { cond, then, otherwise } => (vec![cond], vec![then, otherwise]),
            StmtKind::While { init, cond, body, step } => (vec![cond], vec![init, body, step]),
            StmtKind::ForMap { body, .. } | StmtKind::Unroll { body, .. } => (Vec::new(), vec![body]),
            StmtKind::Time { .. }
            | StmtKind::Signal { .. }
            | StmtKind::Return
            | StmtKind::Break
            | StmtKind::Continue
            | StmtKind::MapAction { .. }
            | StmtKind::Declare { .. } => (Vec::new(), Vec::new()),
        };
        exprs.into_iter().any(|expr| expr.any(found)) || bodies.into_iter().flatten().any(|stmt| stmt.any_expr(found))
    }
}

/// Builtins that read the current task or CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builtin {
    /// Process id (tgid).
    Pid,
    /// Thread id.
    Tid,
    /// User id.
    Uid,
    /// Group id.
    Gid,
    /// CPU number.
    Cpu,
    /// Monotonic time in ns.
    Nsecs,
    /// Time since boot in ns, counting suspend (`CLOCK_BOOTTIME`, `nsecs(boot)`).
    BootNsecs,
    /// International Atomic Time in ns since 1970 (`CLOCK_TAI`, `nsecs(tai)`; Linux 6.1).
    TaiNsecs,
    /// Task name (16 bytes).
    Comm,
    /// Cgroup v2 id of the current task.
    Cgroup,
    /// Address of the current `task_struct`.
    CurTask,
    /// Nanoseconds since the script started (its BEGIN phase).
    Elapsed,
    /// The process id (`thread: false`) or thread id as seen from a pid namespace (`pid` when jl runs in one);
    /// 0 for a task outside it.
    NsPid {
        /// The namespace.
        ns: crate::PidNamespace,
        /// The thread id rather than the process id.
        thread: bool,
    },
    /// The program's context: the address the kernel passes it in `r1` (`ctx`).
    Ctx,
    /// The kernel or user stack of the current context, as a stack-map id (with the process for user stacks).
    Stack(StackKind),
}

/// The kinds of checked expressions.
#[derive(Clone, Debug)]
pub enum ExprKind {
    /// An integer constant.
    Const(i64),
    /// A string constant.
    Str(String),
    /// A builtin.
    Builtin(Builtin),
    /// A probe field (`dur`, `args.vec`).
    Field(Field),
    /// A `$variable`.
    Var(usize),
    /// A plain map read (0 when absent).
    MapRead {
        /// Map index.
        map: usize,
        /// Keys.
        keys: Vec<Expr>,
    },
    /// A `count()`, `sum()`, `min()`, `max()` or `avg()` map's value read in a probe (0 when absent): its per-CPU
    /// values of `count()` and `sum()` added, of `min()`/`max()` compared, of `avg()` totalled and divided.
    AggRead {
        /// Map index.
        map: usize,
        /// Keys.
        keys: Vec<Expr>,
        /// How many CPUs the machine can have: the CPUs whose values are read.
        cpus: u32,
    },
    /// `op x`.
    Unary(UnaryOp, Box<Expr>),
    /// `x op y` on scalars.
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `a == b` (`equal`) or `a != b` on strings: 1 or 0.
    StrCompare {
        /// Whether the operator is `==`.
        equal: bool,
        /// Left string.
        lhs: Box<Expr>,
        /// Right string.
        rhs: Box<Expr>,
    },
    /// `cond ? then : otherwise` (both scalars or both strings).
    Ternary {
        /// The condition.
        cond: Box<Expr>,
        /// The value when it holds.
        then: Box<Expr>,
        /// The value otherwise.
        otherwise: Box<Expr>,
    },
    /// The text of a [`Type::Name`] value (a string): what a name field is wherever it is not a map key, a
    /// comparison's operand or a printf argument.
    NameText(Box<Expr>),
    /// `str(ptr, n)`: a NUL-terminated kernel string read from an address into `ty`'s size.
    KernelStr(Box<Expr>),
    /// `buf(ptr, len)`: the `len` bytes of [`Type::Buf`] read from a kernel or user address.
    Buf(Box<Expr>),
    /// `ntop(af, addr)` with a family computed at run time ([`Type::Inet`]).
    Inet {
        /// The address family, an integer.
        family: Box<Expr>,
        /// The address: an [`Type::Ipv4`] or [`Type::Ipv6`] value.
        address: Box<Expr>,
    },
    /// A struct member read from kernel memory: an integer or pointer, or a `char` array as a string.
    KernelRead(KernelRead),
    /// `*p` of a struct pointer: the struct read once (`read`, from its first byte), then its members taken out
    /// of that copy, in order, into a record ([`Type::Tuple`] with names; embedded structs nested).
    StructValue {
        /// The struct's bytes, up to the end of its last member.
        read: KernelRead,
        /// Its members, embedded structs' members in their place.
        fields: Vec<StructField>,
    },
    /// `ntohs(x)`, `ntohl(x)`, `bswap(x)`: the low `bits` bits byte-swapped, zero-extended.
    ByteSwap {
        /// The swapped value.
        operand: Box<Expr>,
        /// 16, 32 or 64.
        bits: u32,
    },
    /// A builtin with no IR of its own, computed by the lowering its registry record names.
    Call(Lowered),
    /// `(a, b, ...)`: a [`Type::Tuple`] built from its elements.
    Tuple(Vec<Expr>),
    /// `t.N`: the element of the tuple `t` at byte `offset` of it (its type is the expression's).
    TupleElement {
        /// The tuple.
        tuple: Box<Expr>,
        /// Where the element starts in the tuple.
        offset: u32,
    },
    /// `&$x`: the address of variable `x`'s stack slot (its index).
    VarAddress(usize),
    /// `s[i]`, `a[i]`: element `i` of a string (a byte, as an `int8`) or of an array value (bpftrace 0.27), 0 at
    /// or past its end.
    Element {
        /// The string or array.
        value: Box<Expr>,
        /// Which element (any integer expression).
        index: Box<Expr>,
        /// Bytes of one element (1, 2, 4 or 8).
        bytes: u8,
        /// Whether an element is signed.
        signed: bool,
        /// How many elements there are.
        count: u32,
    },
    /// `(uintN)x` / `(intN)x` for N < 64: the low `bits` bits, zero- or sign-extended.
    Convert {
        /// The converted value.
        operand: Box<Expr>,
        /// Bits kept (8, 16 or 32).
        bits: u32,
        /// Whether the result is sign-extended.
        signed: bool,
    },
}

/// A call of a builtin lowered by its own function (`has_key(@m, k)`, `jiffies`).
#[derive(Clone, Debug)]
pub struct Lowered {
    /// The map it reads, if any.
    pub map: Option<usize>,
    /// Its checked arguments (for `has_key`, the keys).
    pub args: Vec<Expr>,
    pub(crate) lower: crate::codegen::calls::Lower,
}

/// `size` bytes of kernel memory at `pointer + offset`, read with `bpf_probe_read_kernel`. Integers shorter than
/// 8 bytes are sign-extended when the expression's type is signed.
#[derive(Clone, Debug)]
pub struct KernelRead {
    /// The address the offset is counted from.
    pub pointer: Box<Expr>,
    /// Byte offset from `pointer`.
    pub offset: u32,
    /// Bytes read: 1, 2, 4 or 8 for numbers, the array's size for strings.
    pub size: u32,
    /// For bitfields: the field's lowest bit in the value read, and its width in bits.
    pub bitfield: Option<(u32, u32)>,
}

/// One member of a [`ExprKind::StructValue`]: where it is in the struct's bytes and what it is.
#[derive(Clone, Debug)]
pub struct StructField {
    /// Its byte offset in the struct.
    pub offset: u32,
    /// Its bytes (for a bitfield, the bytes holding it).
    pub size: u32,
    /// For a bitfield: its lowest bit in those bytes, and its width in bits.
    pub bitfield: Option<(u32, u32)>,
    /// Its value's type: an integer or pointer (in a register), or an array or string (its bytes).
    pub ty: Type,
}

/// `print(@m, top, div)`: how many of the largest entries to show and what to divide each value by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrintOptions {
    /// How many of the largest entries to show (0: all).
    pub top: u64,
    /// What each number printed as a value is divided by (1: none).
    pub div: u64,
}
