//! Kernel memory through BTF-typed pointers: `p->field`, `p->a.b` (embedded structs and unions), `p->arr[i]`,
//! casts `(struct sk_buff *)x`, `(uint32)x` and `(int8 *)x` (what a pointer reads: see `pointers.rs`).
//!
//! A chain of `.` and constant `[i]` after one `->` is one read at one offset: only the value at the end of the
//! chain is read (`skb->dev->nd_net.net` is two reads, not three).

use super::{Checker, Scope};
use crate::ast::{self, CastType};
use crate::diag::{Code, Diagnostic, Span};
use crate::ir::{BinaryOp, Expr, ExprKind, KernelRead, Pointee, PointerType, Type};
use jitterlib::agg::{ArrayElement, ArrayLayout, EnumNames};
use jitterlib::kernel::{Member, MemberKind, StructName};
use jitterlib::probe::nearest_first;

/// Most member names a hint lists.
const HINT_MEMBERS: usize = 12;

/// Largest `char` array read as a string.
const MAX_STRING_MEMBER: u32 = 256;

/// Integer types of casts: name, bits, signed.
const INT_TYPES: &[(&str, u32, bool)] = &[
    ("int8", 8, true),
    ("int16", 16, true),
    ("int32", 32, true),
    ("int64", 64, true),
    ("uint8", 8, false),
    ("uint16", 16, false),
    ("uint32", 32, false),
    ("uint64", 64, false),
];

/// A struct member in kernel memory, not read yet.
pub(super) struct Place {
    /// The pointer it is reached from.
    pointer: Expr,
    /// The struct `pointer` points to.
    root: StructName,
    /// Member path from `root` (`nd_net.net`); array elements share their array's path.
    path: String,
    /// The member, its offset counted from `root`.
    member: Member,
    /// Bytes added to the member's offset by constant array indices.
    extra: u32,
}

impl Place {
    /// Bytes the member takes (for a bitfield: the bytes holding it).
    pub(super) fn size(&self) -> u32 {
        self.member.size
    }

    /// Whether the member is bytes in the struct (an array, or a struct or union embedded by value) rather than
    /// a number or pointer.
    pub(super) fn holds_bytes(&self) -> bool {
        matches!(self.member.kind, MemberKind::Array { .. } | MemberKind::Record)
    }

    /// Whether the member is a struct or union embedded by value.
    pub(super) fn is_record(&self) -> bool {
        matches!(self.member.kind, MemberKind::Record)
    }

    /// The path as written after `->`, for messages.
    pub(super) fn describe(&self) -> String {
        format!("{}->{}", self.root, self.path)
    }
}

impl Checker<'_> {
    /// `base->field`, `base.field` (not on `args`) or `base[index]` as a value.
    pub(super) fn member_value(&mut self, expr: &ast::Expr, scope: &mut Scope) -> Option<Expr> {
        if let ast::ExprKind::Field { base, field, field_span, arrow: false } = &expr.kind {
            if is_value_path(base) {
                let value = self.expr(base, scope)?;
                if matches!(value.ty, Type::Tuple(tuple) if tuple.names().is_some()) {
                    return self.record_field(value, field, *field_span, expr.span);
                }
            }
        }
        if let ast::ExprKind::Index { base, index } = &expr.kind {
            // An element of a value's element (`$t[1][0]`, `$p[1][2]`): a tuple's or what a pointer points to.
            if is_value_path(base) {
                return self.pointer_index(base, index, expr.span, scope);
            }
        }
        let place = self.place(expr, scope)?;
        self.read(place, expr.span)
    }

    /// The member an access expression names, without reading it.
    pub(super) fn place(&mut self, expr: &ast::Expr, scope: &mut Scope) -> Option<Place> {
        match &expr.kind {
            // `(*p).field` is `p->field`, as in C.
            ast::ExprKind::Field { base, field, field_span, arrow } if *arrow || is_deref(base) => {
                let base = match (&base.kind, arrow) {
                    (ast::ExprKind::Deref(pointer), false) => pointer,
                    _ => base,
                };
                let pointer = self.expr(base, scope)?;
                let Some(root) = pointer.ty.pointer().and_then(PointerType::record) else {
                    let hint = match pointer.ty {
                        Type::Int { .. } => {
                            "cast the address to a struct pointer first: `((struct NAME *)addr)->field`"
                        }
                        _ => "`->` reads a member through a pointer to a kernel struct",
                    };
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::Access,
                            *field_span,
                            format!("`->` needs a pointer to a struct, found {}", pointer.ty.describe()),
                        )
                        .with_hint(hint),
                    );
                    return None;
                };
                self.lookup(pointer, root, field.clone(), 0, *field_span)
            }
            ast::ExprKind::Field { base, field, field_span, arrow: false } if is_access(base) => {
                let outer = self.place(base, scope)?;
                match &outer.member.kind {
                    MemberKind::Record => {
                        let path = format!("{}.{field}", outer.path);
                        self.lookup(outer.pointer, outer.root, path, outer.extra, *field_span)
                    }
                    // As bpftrace 0.27 does, `.` also reads through a pointer member: `curtask.parent.pid`.
                    MemberKind::Pointer { target: Some(target) } => {
                        let root = StructName::new(target);
                        let pointer = self.read(outer, base.span)?;
                        self.lookup(pointer, root, field.clone(), 0, *field_span)
                    }
                    _ => {
                        let message =
                            format!("`.` needs a struct, `{}` is {}", outer.describe(), outer.member.type_name);
                        let hint = "`.` reaches the members of a struct or union, embedded or through a pointer";
                        self.diagnostics.push(Diagnostic::new(Code::Access, *field_span, message).with_hint(hint));
                        None
                    }
                }
            }
            ast::ExprKind::Field { base, field, field_span, .. } => {
                let value = self.expr(base, scope)?;
                // `p.field` on a struct pointer is `p->field`, as in bpftrace 0.27.
                if let Some(root) = value.ty.pointer().and_then(PointerType::record) {
                    return self.lookup(value, root, field.clone(), 0, *field_span);
                }
                let diagnostic = match value.ty {
                    Type::Pointer(_) => Diagnostic::new(
                        Code::Access,
                        *field_span,
                        format!("{} points to no struct: it has no members", value.ty.describe()),
                    )
                    .with_hint("read what it points to with `*p` or `p[i]`"),
                    Type::Tuple(tuple) => Diagnostic::new(
                        Code::UnknownField,
                        *field_span,
                        format!("{} has no named fields", value.ty.describe()),
                    )
                    .with_hint(format!("its elements are read by number: `.0` to `.{}`", tuple.elements().len() - 1)),
                    ty => Diagnostic::new(Code::UnknownField, *field_span, format!("{} has no fields", ty.describe())),
                };
                self.diagnostics.push(diagnostic);
                None
            }
            ast::ExprKind::Index { base, index } => self.element(base, index, scope),
            _ => {
                self.diagnostics.push(Diagnostic::new(
                    Code::Access,
                    expr.span,
                    "only members of kernel structs can be indexed or accessed with `.` here",
                ));
                None
            }
        }
    }

    /// `base[index]`: an element of an array member.
    fn element(&mut self, base: &ast::Expr, index: &ast::Expr, scope: &mut Scope) -> Option<Place> {
        if !is_access(base) {
            let value = self.expr(base, scope)?;
            self.diagnostics.push(
                Diagnostic::new(Code::Access, index.span, format!("{} cannot be indexed", value.ty.describe()))
                    .with_hint("`[i]` selects an element of an array member of a kernel struct, e.g. `p->arr[2]`"),
            );
            return None;
        }
        let array = self.place(base, scope)?;
        let index = self.scalar(index, scope)?;
        let MemberKind::Array { element, count, .. } = &array.member.kind else {
            self.diagnostics.push(Diagnostic::new(
                Code::Access,
                index.span,
                format!("`{}` is {}, not an array", array.describe(), array.member.type_name),
            ));
            return None;
        };
        let element_size = array.member.size / (*count).max(1);
        let member = Member {
            offset: array.member.offset,
            size: element_size,
            bit_offset: None,
            bit_width: None,
            type_name: element_type_name(&array.member.type_name),
            kind: (**element).clone(),
        };
        match index.kind {
            ExprKind::Const(at) => match u32::try_from(at).ok().filter(|at| at < count) {
                Some(at) => Some(Place { member, extra: array.extra + at * element_size, ..array }),
                None => {
                    self.diagnostics.push(Diagnostic::new(
                        Code::Limit,
                        index.span,
                        format!("index {at} is out of `{}` ({count} elements)", array.describe()),
                    ));
                    None
                }
            },
            _ => {
                // A computed index moves the pointer: `bpf_probe_read_kernel` checks the address itself.
                let span = index.span;
                let scaled = binary(BinaryOp::Mul, index, constant(element_size, span));
                let pointer = binary(BinaryOp::Add, array.pointer, scaled);
                Some(Place { pointer, member, ..array })
            }
        }
    }

    /// The byte offset of the member at `path` (`a.b`) in struct `root` (`offsetof`).
    pub(super) fn member_offset(&mut self, root: &str, path: &str, span: Span) -> Option<u32> {
        let place = self.lookup(constant(0, span), StructName::new(root), path.to_string(), 0, span)?;
        Some(place.member.offset)
    }

    /// The member at `path` of `root`, reached through `pointer`.
    pub(super) fn lookup(
        &mut self,
        pointer: Expr,
        root: StructName,
        path: String,
        extra: u32,
        span: Span,
    ) -> Option<Place> {
        match self.kernel.struct_member(root.as_str(), &path) {
            Ok(Some(member)) => Some(Place { pointer, root, path, member, extra }),
            Ok(None) => {
                let (parent, field) = path.rsplit_once('.').unwrap_or(("", &path));
                let container = if parent.is_empty() { format!("struct {root}") } else { format!("{root}->{parent}") };
                let known = self.kernel.struct_members(root.as_str(), parent).ok().flatten().unwrap_or_default();
                let known: Vec<&str> = known.iter().map(String::as_str).collect();
                let sorted = nearest_first(field, &known);
                let mut hint = format!(
                    "members of {container}, nearest first: {}",
                    sorted.iter().take(HINT_MEMBERS).map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ")
                );
                if sorted.len() > HINT_MEMBERS {
                    hint.push_str(&format!(" (and {} more)", sorted.len() - HINT_MEMBERS));
                }
                if sorted.is_empty() {
                    hint = format!("this kernel's BTF lists no members of {container}");
                }
                self.diagnostics.push(
                    Diagnostic::new(Code::UnknownField, span, format!("{container} has no member `{field}`"))
                        .with_hint(hint),
                );
                None
            }
            Err(error) => {
                self.diagnostics.push(Diagnostic::new(
                    Code::MissingTarget,
                    span,
                    format!("cannot read the layout of struct {root}: {error}"),
                ));
                None
            }
        }
    }

    /// Reads a member's value: integers and pointers into registers, `char` arrays as strings.
    pub(super) fn read(&mut self, place: Place, span: Span) -> Option<Expr> {
        let member = &place.member;
        let (ty, size) = match &member.kind {
            MemberKind::Int { signed } if matches!(member.size, 1 | 2 | 4 | 8) => {
                (Type::Int { signed: *signed }, member.size)
            }
            MemberKind::Pointer { target: Some(target) } => {
                (Type::Pointer(PointerType::to_record(StructName::new(target))), 8)
            }
            // A pointer to anything but a struct (`char *`, `void *`, a function): an address, printed in hex as
            // bpftrace prints it, moved in bytes.
            MemberKind::Pointer { target: None } => {
                (Type::Pointer(PointerType { pointee: Pointee::Void, depth: 1 }), 8)
            }
            MemberKind::Array { text: true, .. } if member.size <= MAX_STRING_MEMBER => {
                (Type::Str(member.size.div_ceil(8) * 8), member.size)
            }
            // An array of integers: an array value (bpftrace 0.27), `[1,2,3]`.
            MemberKind::Array { .. } if int_array(member).is_some() => (Type::Array(int_array(member)?), member.size),
            kind => {
                let hint = match kind {
                    MemberKind::Record => "name one of its members with `.`",
                    MemberKind::Array { .. } => "index it (`[0]`), or pass a 4- or 16-byte address to `ntop()`",
                    _ => "only integers, pointers and char arrays can be read",
                };
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        span,
                        format!("`{}` is {}: it has no value here", place.describe(), member.type_name),
                    )
                    .with_hint(hint),
                );
                return None;
            }
        };
        let read = self.kernel_read(place, size);
        Some(Expr { kind: ExprKind::KernelRead(read), ty, span })
    }

    /// The read of `size` bytes of a place.
    pub(super) fn kernel_read(&mut self, place: Place, size: u32) -> KernelRead {
        let bitfield = place.member.bit_offset.zip(place.member.bit_width);
        KernelRead { pointer: Box::new(place.pointer), offset: place.member.offset + place.extra, size, bitfield }
    }

    /// `(type)operand`.
    pub(super) fn cast(
        &mut self,
        ty: &CastType,
        ty_span: Span,
        operand: &ast::Expr,
        span: Span,
        scope: &mut Scope,
    ) -> Option<Expr> {
        if let CastType::IntArray { name, count } = ty {
            return self.array_cast(name, *count, ty_span, operand, span, scope);
        }
        let (target, bits) = self.cast_target(ty, ty_span)?;
        let value = self.expr(operand, scope)?;
        if let (Type::Array(array), Type::Int { signed }) = (value.ty, target) {
            return self.array_to_int(value, array, bits, signed, span);
        }
        let value = self.require_scalar(value)?;
        if let (Type::Enum(names), ExprKind::Const(constant)) = (target, &value.kind) {
            if names.name_of(*constant).is_none() {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        span,
                        format!("enum `{}` has no enumerator of value {constant}", names.name()),
                    )
                    .with_hint("a constant cast to an enum names one of its values; a variable's may be any number"),
                );
                return None;
            }
        }
        // A narrower integer becomes an address zero-extended, as bpftrace 0.27 casts it: `(uint8 *)-1` is 0xff.
        let value = match (target, value.ty) {
            (Type::Pointer(_), Type::Int { signed: true }) => {
                let bytes = super::arrays::integer_bytes(operand, &value);
                super::arrays::zero_extended(value, bytes)
            }
            _ => value,
        };
        let kind = match target {
            Type::Int { signed } if bits < 64 => ExprKind::Convert { operand: Box::new(value), bits, signed },
            Type::Bool if value.ty != Type::Bool => {
                let zero = Expr { kind: ExprKind::Const(0), ty: value.ty, span: value.span };
                ExprKind::Binary(BinaryOp::Ne, Box::new(value), Box::new(zero))
            }
            _ => value.kind,
        };
        Some(Expr { kind, ty: target, span })
    }

    /// The type and bits of an integer type name (`uint16`), or an error listing the known ones.
    pub(super) fn int_type(&mut self, name: &str, span: Span) -> Option<(Type, u32)> {
        if let Some((_, bits, signed)) = INT_TYPES.iter().find(|(known, ..)| *known == name) {
            return Some((Type::Int { signed: *signed }, *bits));
        }
        // The C and kernel names (`uint64_t`, `u32`, `char`, `size_t`), as bpftrace 0.27 takes them from BTF.
        if let Some((bytes, signed)) = crate::records::c_integer(name) {
            return Some((Type::Int { signed }, bytes * 8));
        }
        let names: Vec<&str> = INT_TYPES.iter().map(|(name, ..)| *name).collect();
        self.diagnostics.push(Diagnostic::new(Code::UnknownType, span, format!("unknown type `{name}`")).with_hint(
            format!(
                "integer types: {}, or their C names (`uint32_t`, `u32`, `char`, `size_t`); or `struct NAME *`",
                names.join(", ")
            ),
        ));
        None
    }

    /// The script's enum `name`, else the kernel's (whose BTF, unreadable, has none).
    fn enum_named(&self, name: &str) -> Option<EnumNames> {
        match self.enums.iter().find(|names| names.name() == name) {
            Some(names) => Some(*names),
            None => self.kernel.enum_type(name).ok().flatten().map(|found| EnumNames::of_kernel(&found)),
        }
    }

    /// The type a cast converts to, and the bits it keeps.
    pub(super) fn cast_target(&mut self, ty: &CastType, span: Span) -> Option<(Type, u32)> {
        match ty {
            CastType::Int(name) if name == "bool" => Some((Type::Bool, 64)),
            CastType::Enum(name) => match self.enum_named(name) {
                Some(names) => Some((Type::Enum(names), 64)),
                None => {
                    self.diagnostics.push(
                        Diagnostic::new(Code::UnknownType, span, format!("unknown enum `{name}`"))
                            .with_hint(format!(
                                "the kernel's BTF has no such enum either; define it before the probes: `enum {name} {{ A, B = 5 }};`"
                            )),
                    );
                    None
                }
            },
            CastType::Int(name) => self.int_type(name, span),
            CastType::IntArray { .. } => {
                self.diagnostics.push(
                    Diagnostic::new(Code::TypeMismatch, span, "an array type cannot be declared here")
                        .with_hint("cast the value instead: `(uint8[4])x`"),
                );
                None
            }
            CastType::IntPointer { name, pointers } => self.int_type(name, span).map(|(ty, bits)| {
                let pointee = Pointee::Int { bytes: (bits / 8) as u8, signed: ty.is_signed() };
                (Type::Pointer(PointerType { pointee, depth: depth(*pointers) }), 64)
            }),
            CastType::VoidPointer { pointers } => {
                Some((Type::Pointer(PointerType { pointee: Pointee::Void, depth: depth(*pointers) }), 64))
            }
            CastType::Record { name, pointers } => {
                match self.kernel.struct_members(name, "") {
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        self.diagnostics.push(
                            Diagnostic::new(Code::UnknownType, span, format!("unknown struct `{name}`"))
                                .with_hint("the struct must exist in this kernel's BTF (`bpftool btf dump file /sys/kernel/btf/vmlinux`)"),
                        );
                        return None;
                    }
                    Err(error) => {
                        self.diagnostics.push(Diagnostic::new(
                            Code::MissingTarget,
                            span,
                            format!("cannot read struct `{name}` from BTF: {error}"),
                        ));
                        return None;
                    }
                }
                match pointers {
                    0 => {
                        self.diagnostics.push(
                            Diagnostic::new(
                                Code::TypeMismatch,
                                span,
                                format!("cannot cast a value to struct `{name}`"),
                            )
                            .with_hint(format!(
                                "cast to a pointer and read members with `->`: `(struct {name} *)addr`"
                            )),
                        );
                        None
                    }
                    pointers => {
                        let pointee = Pointee::Record(StructName::new(name));
                        Some((Type::Pointer(PointerType { pointee, depth: depth(*pointers) }), 64))
                    }
                }
            }
        }
    }
}

/// Whether an expression names a member (and can be followed by `.` or `[i]`); `args.x` is a probe field.
pub(super) fn is_access(expr: &ast::Expr) -> bool {
    match &expr.kind {
        ast::ExprKind::Field { base, .. } => base.kind != ast::ExprKind::Ident("args".into()),
        ast::ExprKind::Index { .. } => true,
        _ => false,
    }
}

/// Whether `expr` is `*p` (whose `.field` reads through `p`).
fn is_deref(expr: &ast::Expr) -> bool {
    matches!(expr.kind, ast::ExprKind::Deref(_))
}

/// Whether `expr` is a value held by the script (a variable, a map, a call, a tuple or record, or an element of
/// one), so that `.name` on it names a record's field, not a kernel struct's member, and `[i]` an element of it.
fn is_value_path(expr: &ast::Expr) -> bool {
    match &expr.kind {
        ast::ExprKind::Field { base, arrow: false, .. }
        | ast::ExprKind::TupleIndex { base, .. }
        | ast::ExprKind::Index { base, .. } => is_value_path(base),
        ast::ExprKind::Var(_)
        | ast::ExprKind::Map(_)
        | ast::ExprKind::Call { .. }
        | ast::ExprKind::Tuple(_)
        | ast::ExprKind::Record { .. } => true,
        _ => false,
    }
}

/// The element type of an array type as the BTF reader renders it: `u8[6]` gives `u8`, and an array of
/// arrays, rendered `char[4][2]` (2 arrays of 4), gives `char[4]`.
fn element_type_name(array: &str) -> String {
    array.rfind('[').map_or(array, |open| &array[..open]).to_string()
}

/// The array value an array member of integers reads as (at most [`MAX_STRING_MEMBER`] bytes).
fn int_array(member: &Member) -> Option<ArrayLayout> {
    let MemberKind::Array { element, count, text: false } = &member.kind else { return None };
    let MemberKind::Int { signed } = **element else { return None };
    let bytes = u8::try_from(member.size / (*count).max(1)).ok().filter(|bytes| matches!(bytes, 1 | 2 | 4 | 8))?;
    (member.size <= MAX_STRING_MEMBER)
        .then_some(ArrayLayout { element: ArrayElement::Int { bytes, signed }, count: *count })
}

/// The depth of a pointer written with `stars` `*` (at most 255 count).
fn depth(stars: usize) -> u8 {
    u8::try_from(stars).unwrap_or(u8::MAX)
}

fn constant(value: u32, span: Span) -> Expr {
    Expr { kind: ExprKind::Const(i64::from(value)), ty: Type::U64, span }
}

fn binary(op: BinaryOp, lhs: Expr, rhs: Expr) -> Expr {
    let span = lhs.span.to(rhs.span);
    Expr { kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)), ty: Type::U64, span }
}
