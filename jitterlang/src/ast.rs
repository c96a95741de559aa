//! The syntax tree of a jitterlang script, as written, with source spans.

use crate::diag::Span;

/// A whole script: its config block, its parameters, then its probe blocks.
#[derive(Clone, Debug, PartialEq)]
pub struct Script {
    /// The settings of bpftrace's `config = { ... }` block, in source order (see [`crate::config`]).
    pub config: Vec<ConfigSetting>,
    /// The `param $name = default` declarations in source order.
    pub params: Vec<ParamDecl>,
    /// The probe blocks in source order, every macro call expanded in place.
    pub blocks: Vec<ProbeBlock>,
    /// Where each macro was expanded, so that errors inside an expansion also point at its call.
    pub expansions: Vec<Expansion>,
    /// The C `struct` definitions, in source order.
    pub records: Vec<RecordDef>,
    /// The C `enum` definitions, in source order.
    pub enums: Vec<EnumDef>,
    /// The `let @m = hash(N);` map declarations, in source order.
    pub map_decls: Vec<MapDecl>,
}

/// `enum NAME { A, B = 5 };`: a C enum the script defines. Its enumerators are constants of its type, which
/// print by name (`A`); `(enum NAME)x` gives a value its type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnumDef {
    /// The enum's name (an anonymous enum gets one no cast can write: `enum { A }` is `(anonymous enum 1)`).
    pub name: String,
    /// Its enumerators and their values, in order.
    pub enumerators: Vec<(i64, String)>,
}

/// `let @name = KIND(SIZE);`: the BPF map type and the number of keys of a map, declared before the probes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapDecl {
    /// The map's name with its `@`.
    pub name: String,
    /// The map type as written (`hash`, `lruhash`, `percpuhash`, `percpulruhash`).
    pub kind: String,
    /// Where the map type is written.
    pub kind_span: Span,
    /// The number of keys.
    pub size: u64,
    /// Where the size is written.
    pub size_span: Span,
    /// Where the declaration is written, from `let` to `)`.
    pub span: Span,
}

/// `struct NAME { fields };`: a C struct the script defines (see [`crate::records`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordDef {
    /// The struct's name.
    pub name: String,
    /// Its members in order.
    pub fields: Vec<FieldDecl>,
    /// `__attribute__((packed))`: its members are not aligned.
    pub packed: bool,
    /// `__attribute__((aligned(N)))`: its alignment is at least `N`.
    pub aligned: Option<u32>,
    /// Where it is written.
    pub span: Span,
}

/// One member of a [`RecordDef`]: `unsigned long x;`, `char *name;`, `int v[4];`, `struct inner in;`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldDecl {
    /// The words of its type (`["unsigned", "long"]`, `["struct", "inner"]`).
    pub type_words: Vec<String>,
    /// Number of `*` after the type.
    pub pointers: usize,
    /// The member's name.
    pub name: String,
    /// Array dimensions, outermost first.
    pub dims: Vec<u32>,
    /// A bitfield's width in bits (`x:3`).
    pub bits: Option<u32>,
    /// Where it is written.
    pub span: Span,
}

/// One call of a `macro`, expanded in place before type checking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expansion {
    /// The macro's name.
    pub name: String,
    /// Where the call is written.
    pub call: Span,
    /// Where the macro is defined (the whole definition).
    pub definition: Span,
}

/// `name = value` in a `config = { ... }` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigSetting {
    /// The name as written (`max_map_keys`, `BPFTRACE_MAX_MAP_KEYS`).
    pub name: String,
    /// The value as written, a string's quotes removed.
    pub value: String,
    /// Where the setting is written.
    pub span: Span,
    /// Where its value is written.
    pub value_span: Span,
}

/// `param $name = default`: a named script parameter, read as `$name`, set with `jl --arg name=VALUE`.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamDecl {
    /// The name without the `$`.
    pub name: String,
    /// The value used when `--arg` does not set it; its kind is the parameter's type.
    pub default: ParamValue,
    /// Where the declaration is written.
    pub span: Span,
}

/// The value of a script parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamValue {
    /// An integer (`-1`, `0x10`).
    Int(i64),
    /// A duration in nanoseconds (`50ms`).
    Duration(u64),
    /// A string (`"eth0"`).
    Str(String),
}

/// `probe, probe /predicate/ { statements }`.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeBlock {
    /// The probes sharing this block (at least one).
    pub probes: Vec<Probe>,
    /// The optional `/predicate/`.
    pub predicate: Option<Expr>,
    /// The statements of the block.
    pub body: Vec<Stmt>,
    /// Span of the whole block, probes included.
    pub span: Span,
}

/// One probe as written.
#[derive(Clone, Debug, PartialEq)]
pub enum ProbeKind {
    /// `kind:part:part`, e.g. `tracepoint:irq:softirq_entry`, `interval:s:1`, `BEGIN`.
    Path(Vec<String>),
    /// A typed probe `name(arg, ...)`, e.g. `timer("estimation_timer")`.
    Typed {
        /// The probe name (`timer`).
        name: String,
        /// Its arguments.
        args: Vec<ProbeArg>,
    },
}

/// A probe and where it is written.
#[derive(Clone, Debug, PartialEq)]
pub struct Probe {
    /// What the probe says.
    pub kind: ProbeKind,
    /// Where it is written.
    pub span: Span,
}

/// An argument of a typed probe.
#[derive(Clone, Debug, PartialEq)]
pub enum ProbeArg {
    /// `"text"`.
    Str(String, Span),
    /// An integer.
    Int(u64, Span),
    /// A bare word.
    Ident(String, Span),
    /// `$name`: a script parameter.
    Param(String, Span),
    /// `$1`: a positional script argument.
    Positional(u32, Span),
}

impl ProbeArg {
    /// Where the argument is written.
    pub fn span(&self) -> Span {
        match self {
            ProbeArg::Str(_, span)
            | ProbeArg::Int(_, span)
            | ProbeArg::Ident(_, span)
            | ProbeArg::Param(_, span)
            | ProbeArg::Positional(_, span) => *span,
        }
    }
}

/// A statement.
#[derive(Clone, Debug, PartialEq)]
pub struct Stmt {
    /// What the statement does.
    pub kind: StmtKind,
    /// Where it is written.
    pub span: Span,
}

/// The kinds of statements.
#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    /// An expression evaluated for its effect: a call such as `printf(...)`, or a bare aggregation
    /// (`hist(dur)` means `@ = hist(dur)`).
    Expr(Expr),
    /// `@map[keys] = value`, `@map[keys] op= value`.
    MapAssign {
        /// The map and its keys.
        target: MapRef,
        /// `None` for `=`, or the operator of a compound assignment.
        op: Option<BinaryOp>,
        /// The assigned value.
        value: Expr,
    },
    /// A block expression's statements in a scope of their own (`{ $x = 1; $x + 1 }`), then `result`, the
    /// statement that takes its value (`$v = ...`, `@m = ...`): it reads the block's variables, and a variable it
    /// assigns first belongs to the enclosing block.
    Scoped {
        /// The block's statements.
        body: Vec<Stmt>,
        /// The statement using the block's value.
        result: Option<Box<Stmt>>,
    },
    /// `$var = value`, `$var op= value`.
    VarAssign {
        /// Variable name without the `$`.
        name: String,
        /// Where the variable is written.
        name_span: Span,
        /// `None` for `=`, or the operator of a compound assignment.
        op: Option<BinaryOp>,
        /// The assigned value.
        value: Expr,
    },
    /// `let $var;` or `let $var = value;`: a variable seen only in the enclosing block, from here on.
    Let {
        /// Variable name without the `$`.
        name: String,
        /// Where the variable is written.
        name_span: Span,
        /// The type written after `:`, as [`ExprKind::Type`] or [`ExprKind::TypeOf`] (`let $x: typeof(y)`).
        ty: Option<Expr>,
        /// The initial value; without one, the first assignment gives the variable its type.
        value: Option<Expr>,
    },
    /// `if (cond) { ... } else { ... }`.
    If {
        /// The condition.
        cond: Expr,
        /// Statements run when the condition holds.
        then: Vec<Stmt>,
        /// Statements run otherwise (an `else if` is a nested `If`).
        otherwise: Vec<Stmt>,
    },
    /// `while (cond) { ... }`: a bounded loop.
    While {
        /// The condition checked before each iteration.
        cond: Expr,
        /// The loop body.
        body: Vec<Stmt>,
    },
    /// `for ($var : start..end) { ... }`: the body with `$var` from `start` up to `end` (not included).
    For {
        /// The loop variable's name without the `$`, seen only in the body.
        name: String,
        /// Where the variable is written.
        name_span: Span,
        /// The first value.
        start: Expr,
        /// The value the loop stops at.
        end: Expr,
        /// The loop body.
        body: Vec<Stmt>,
    },
    /// `for ($kv : @m) { ... }`: the body once per entry of a map, `$kv` the tuple (key, value).
    ForMap {
        /// The loop variable's name without the `$`, seen only in the body.
        name: String,
        /// Where the variable is written.
        name_span: Span,
        /// The map (without keys).
        map: MapRef,
        /// The loop body.
        body: Vec<Stmt>,
    },
    /// `unroll(N) { ... }`: the body repeated N times.
    Unroll {
        /// How many times: an integer or a script argument (`unroll($1)`).
        count: Expr,
        /// The repeated statements.
        body: Vec<Stmt>,
    },
    /// `return`: leaves the probe.
    Return,
    /// `break`: leaves the innermost `while`, `for` or `unroll`.
    Break,
    /// `continue`: goes on with the next iteration of the innermost `while` or `unroll`.
    Continue,
}

/// `@name[key, ...]`.
#[derive(Clone, Debug, PartialEq)]
pub struct MapRef {
    /// The map name including `@` (`@` alone is the anonymous map).
    pub name: String,
    /// The key expressions (empty when the map has no key).
    pub keys: Vec<Expr>,
    /// Where it is written.
    pub span: Span,
}

/// An expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What the expression is.
    pub kind: ExprKind,
    /// Where it is written.
    pub span: Span,
}

/// The kinds of expressions.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// An integer literal.
    Int(u64),
    /// `true` or `false`.
    Bool(bool),
    /// A duration literal, in nanoseconds (`10ms`).
    Duration(u64),
    /// A string literal, escapes resolved.
    Str(String),
    /// A bare identifier: a builtin (`pid`, `dur`, `args`) or a probe field.
    Ident(String),
    /// `$name`.
    Var(String),
    /// `$1`, `$2`: positional script arguments.
    Positional(u32),
    /// `$#`: the number of positional arguments.
    ArgCount,
    /// A map read `@name[keys]`.
    Map(MapRef),
    /// `name(args)`.
    Call {
        /// The function name.
        name: String,
        /// Where the name is written.
        name_span: Span,
        /// The arguments.
        args: Vec<Expr>,
    },
    /// `base.field` or `base->field`.
    Field {
        /// The expression the field belongs to.
        base: Box<Expr>,
        /// The field name.
        field: String,
        /// Where the field name is written.
        field_span: Span,
        /// Whether it is written `->` (through a pointer) rather than `.`.
        arrow: bool,
    },
    /// `(a, b, ...)`: a tuple of two or more values.
    Tuple(Vec<Expr>),
    /// `(a=1, b="x")`: a record, a tuple whose elements are named (`$r.a`).
    Record {
        /// The names, in order, with where each is written.
        names: Vec<(String, Span)>,
        /// The values, as many.
        values: Vec<Expr>,
    },
    /// `base.N`: element `N` of a tuple.
    TupleIndex {
        /// The tuple.
        base: Box<Expr>,
        /// The element number.
        index: u32,
        /// Where the number is written.
        index_span: Span,
    },
    /// `base[index]`: an element of a fixed-size array.
    Index {
        /// The array.
        base: Box<Expr>,
        /// The element number.
        index: Box<Expr>,
    },
    /// A type written as a builtin's argument: `sizeof(struct task_struct)`, `sizeof(uint32 *[4])`, or
    /// `typeof(TYPE)`.
    Type(TypeName),
    /// `typeof(value)`: the type of a value, where a type is written (`sizeof(typeof($x))`, a macro's argument).
    TypeOf(Box<Expr>),
    /// `(type)operand`.
    Cast {
        /// The type as written.
        ty: CastType,
        /// Where the type is written (parentheses included).
        ty_span: Span,
        /// The converted value.
        operand: Box<Expr>,
    },
    /// `*operand`: the integer a typed pointer (`(uint32 *)p`) points to.
    Deref(Box<Expr>),
    /// `&$x`: the address of a variable's stack slot (bpftrace 0.27).
    AddressOf(Box<Expr>),
    /// `op operand`.
    Unary(UnaryOp, Box<Expr>),
    /// `lhs op rhs`.
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `{ statements; value }`: a block whose value is its last expression (`None` when it ends with `;` or a
    /// statement). Its statements run first: syntax/macros.rs moves them before the statement it is in, so
    /// later passes never see one.
    Block {
        /// The statements before the value.
        stmts: Vec<Stmt>,
        /// The value.
        value: Option<Box<Expr>>,
    },
    /// `cond ? then : otherwise`.
    Ternary {
        /// The condition.
        cond: Box<Expr>,
        /// The value when it holds.
        then: Box<Expr>,
        /// The value otherwise.
        otherwise: Box<Expr>,
    },
}

/// A type as written where a builtin takes one (`sizeof`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeName {
    /// The name: an integer type (`uint32`, `int`, `uint64_t`), or a struct's or union's name.
    pub name: String,
    /// Whether it is written `struct NAME` or `union NAME`.
    pub record: bool,
    /// Number of `*`.
    pub pointers: usize,
    /// Array dimensions (`[4]`), outermost first.
    pub dims: Vec<u32>,
}

/// The type of a cast, as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CastType {
    /// An integer type name: `uint32`, `int8`.
    Int(String),
    /// A pointer to an integer type: `int8 *`, `uint64 **`.
    IntPointer {
        /// The integer type name.
        name: String,
        /// Number of `*`.
        pointers: usize,
    },
    /// `int8[8]`, `bool[]`: an array of integers or bools, of as many elements as the value's bytes make when
    /// no count is written.
    IntArray {
        /// The element type name (`int8`, `uint16`, `bool`).
        name: String,
        /// The number of elements, if written.
        count: Option<u32>,
    },
    /// `enum NAME`: an enum the script defines.
    Enum(String),
    /// `void *`, `void **`: an address of unknown pointee (arithmetic in bytes).
    VoidPointer {
        /// Number of `*` (at least 1).
        pointers: usize,
    },
    /// `struct NAME *` (or `union NAME *`), with how many `*` follow the name.
    Record {
        /// The struct or union name.
        name: String,
        /// Number of `*`.
        pointers: usize,
    },
}

/// Prefix operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-x`.
    Neg,
    /// `!x`.
    Not,
    /// `~x`.
    BitNot,
}

/// Infix operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// `||`.
    Or,
    /// `&&`.
    And,
    /// `|`.
    BitOr,
    /// `^`.
    BitXor,
    /// `&`.
    BitAnd,
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `<<`.
    Shl,
    /// `>>`.
    Shr,
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
    /// `%`.
    Rem,
}

impl BinaryOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "||",
            BinaryOp::And => "&&",
            BinaryOp::BitOr => "|",
            BinaryOp::BitXor => "^",
            BinaryOp::BitAnd => "&",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Shl => "<<",
            BinaryOp::Shr => ">>",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
        }
    }

    /// Whether the operator yields a truth value (0 or 1).
    pub fn is_comparison(self) -> bool {
        matches!(self, BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge)
    }
}
