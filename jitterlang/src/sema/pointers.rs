//! Typed pointers as bpftrace 0.27 treats them: `p + n` and `p - n` move by `n` pointees (C's rule), `*p` and
//! `p[i]` read what `p` points to (an integer, or the next address of a pointer to a pointer; `void *` moves in
//! bytes and cannot be read through).

use super::{Checker, Scope};
use crate::ast;
use crate::diag::{Code, Diagnostic, Span};
use crate::ir::{BinaryOp, Expr, ExprKind, KernelRead, Pointee, PointerType, StructField, TupleType, Type};
use jitterlib::kernel::StructName;

/// Most bytes `*p` of a struct reads (into a stack buffer).
const MAX_STRUCT_VALUE: u32 = 128;

impl Checker<'_> {
    /// `lhs op rhs` when one side is a pointer and `op` is `+` or `-`: the address moved by whole pointees.
    /// `None` (reported) for `-` between two pointers or from an integer.
    pub(super) fn pointer_arithmetic(&mut self, op: BinaryOp, lhs: Expr, rhs: Expr, span: Span) -> Option<Expr> {
        let (pointer, address, count) = match (lhs.ty, rhs.ty) {
            (Type::Pointer(_), Type::Pointer(_)) => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        span,
                        format!(
                            "`{}` cannot combine two pointers ({} and {})",
                            op.symbol(),
                            lhs.ty.describe(),
                            rhs.ty.describe()
                        ),
                    )
                    .with_hint("for the distance in bytes, convert both to integers: `(uint64)$a - (uint64)$b`"),
                );
                return None;
            }
            (Type::Pointer(pointer), _) => (pointer, lhs, rhs),
            (_, Type::Pointer(pointer)) if op == BinaryOp::Add => (pointer, rhs, lhs),
            _ => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        span,
                        format!("an integer minus a pointer ({}) is not an address", rhs.ty.describe()),
                    )
                    .with_hint(
                        "subtract the integer from the pointer (`$p - 1`), or convert the pointer: `(uint64)$p`",
                    ),
                );
                return None;
            }
        };
        let size = self.pointee_size(pointer, span)?;
        let offset = scaled(count, size);
        let kind = ExprKind::Binary(op, Box::new(address), Box::new(offset));
        Some(Expr { kind, ty: Type::Pointer(pointer), span })
    }

    /// E0300: operator `symbol` on `pointer`, which only `+`, `-` (by pointees), comparisons and `!` take, as in
    /// bpftrace 0.27.
    pub(super) fn not_on_pointer(&mut self, symbol: &str, pointer: &Expr, span: Span) -> Option<Expr> {
        self.diagnostics.push(
            Diagnostic::new(Code::TypeMismatch, span, format!("`{symbol}` does not apply to a pointer"))
                .with_label(pointer.ty.describe())
                .with_hint(
                    "a pointer moves by `p + n` and `p - n` and compares; for arithmetic on the address, convert \
                     it: `(uint64)$p`",
                ),
        );
        None
    }

    /// `*operand`: what a typed pointer points to, read with `bpf_probe_read_kernel` (or `bpf_probe_read_user` for a
    /// user address).
    pub(super) fn deref(&mut self, operand: &ast::Expr, span: Span, scope: &mut Scope) -> Option<Expr> {
        // `*&$x` is `$x`, whatever it holds (a tuple, a string), as in bpftrace 0.27.
        if let ast::ExprKind::AddressOf(inner) = &operand.kind {
            if let ast::ExprKind::Var(_) = inner.kind {
                return Some(Expr { span, ..self.expr(inner, scope)? });
            }
        }
        let pointer = self.scalar(operand, scope)?;
        self.read_pointee(pointer, span)
    }

    /// `base[index]` where `base` is a pointer: `*(base + index)`.
    pub(super) fn pointer_index(
        &mut self,
        base: &ast::Expr,
        index: &ast::Expr,
        span: Span,
        scope: &mut Scope,
    ) -> Option<Expr> {
        let (pointer, index) = (self.expr(base, scope), self.scalar(index, scope));
        let pointer = pointer?;
        if matches!(pointer.ty, Type::Tuple(_)) {
            return self.tuple_element_at(pointer, index?, span);
        }
        if let Type::Str(size) = pointer.ty {
            let kind = ExprKind::Element {
                value: Box::new(pointer),
                index: Box::new(index?),
                bytes: 1,
                signed: true,
                count: size,
            };
            return Some(Expr { kind, ty: Type::I64, span });
        }
        if let Type::Array(array) = pointer.ty {
            return self.array_element(pointer, array, index?, span);
        }
        if pointer.ty.pointer().is_none() {
            self.diagnostics.push(
                Diagnostic::new(Code::Access, base.span, format!("{} cannot be indexed", pointer.ty.describe()))
                    .with_hint(
                        "`[i]` reads element i through a typed pointer (`((int32 *)p)[i]`), of an array member of a \
                         kernel struct (`p->arr[2]`), of a tuple (`$t[1]`) or of a string (`$s[0]`)",
                    ),
            );
            return None;
        }
        let moved = self.pointer_arithmetic(BinaryOp::Add, pointer, index?, span)?;
        self.read_pointee(moved, span)
    }

    /// `&$x` (bpftrace 0.27): the address of the variable's stack slot, an `int64 *` (`uint64 *`) for an integer,
    /// a `void *` for other values (cast it to read them: `(int8 *)&$s`). It is valid while the probe runs.
    pub(super) fn address_of(&mut self, operand: &ast::Expr, span: Span, scope: &mut Scope) -> Option<Expr> {
        let variable = self.expr(operand, scope)?;
        let ExprKind::Var(var) = variable.kind else {
            self.diagnostics.push(
                Diagnostic::new(Code::TypeMismatch, operand.span, "`&` takes the address of a variable")
                    .with_hint("write `&$x`; maps and other values have no address"),
            );
            return None;
        };
        let pointee = match variable.ty {
            Type::Int { signed } => Pointee::Int { bytes: 8, signed },
            _ => Pointee::Void,
        };
        let ty = Type::Pointer(PointerType { pointee, depth: 1 });
        Some(Expr { kind: ExprKind::VarAddress(var), ty, span })
    }

    /// The integer or address `pointer` points to.
    fn read_pointee(&mut self, pointer: Expr, span: Span) -> Option<Expr> {
        if let Some(root) = pointer.ty.pointer().and_then(PointerType::record) {
            return self.struct_value(pointer, root, span);
        }
        let Some((pointer_type, ty)) = pointer.ty.pointer().and_then(|p| Some((p, p.target()?))) else {
            let hint = match pointer.ty.pointer().map(|p| p.pointee) {
                Some(Pointee::Void) => "say what it points to with a cast: `*(uint32 *)p` reads 4 bytes at `p`",
                Some(_) => "a whole struct has no value: read one member, `p->field`",
                _ => "say what it points to with a cast: `*(uint32 *)p` reads 4 bytes at the address `p`",
            };
            self.diagnostics.push(
                Diagnostic::new(
                    Code::TypeMismatch,
                    span,
                    format!("`*` reads through a pointer to an integer or a pointer, not {}", pointer.ty.describe()),
                )
                .with_hint(hint),
            );
            return None;
        };
        let size = match (pointer_type.pointee, pointer_type.depth) {
            (Pointee::Int { bytes, .. }, 1) => u32::from(bytes),
            _ => 8,
        };
        let read = KernelRead { pointer: Box::new(pointer), offset: 0, size, bitfield: None };
        Some(Expr { kind: ExprKind::KernelRead(read), ty, span })
    }

    /// `*p` of a struct pointer: the struct read once, as a record of its members' values, printed
    /// `{ .a = 1, .b = [2,3] }` as bpftrace 0.27 prints a struct.
    fn struct_value(&mut self, pointer: Expr, root: StructName, span: Span) -> Option<Expr> {
        let mut fields = Vec::new();
        let ty = self.record_fields(&pointer, root, "", span, &mut fields)?;
        let size = fields.iter().map(|field| field.offset + field.size).max().unwrap_or(0);
        if size > MAX_STRUCT_VALUE {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::Limit,
                    span,
                    format!("struct {root} takes {size} bytes: jl reads a whole struct of at most {MAX_STRUCT_VALUE}"),
                )
                .with_hint("read the members you need: `p->field`"),
            );
            return None;
        }
        let read = KernelRead { pointer: Box::new(pointer), offset: 0, size, bitfield: None };
        Some(Expr { kind: ExprKind::StructValue { read, fields }, ty, span })
    }

    /// The record type of struct `root` (or of its member at `path`, an embedded struct), its members added to
    /// `fields` in order.
    fn record_fields(
        &mut self,
        pointer: &Expr,
        root: StructName,
        path: &str,
        span: Span,
        fields: &mut Vec<StructField>,
    ) -> Option<Type> {
        let names = match self.kernel.struct_members(root.as_str(), path) {
            Ok(names) => names.unwrap_or_default(),
            Err(error) => {
                let message = format!("cannot read the layout of struct {root}: {error}");
                self.diagnostics.push(Diagnostic::new(Code::MissingTarget, span, message));
                return None;
            }
        };
        if names.is_empty() {
            self.diagnostics.push(
                Diagnostic::new(Code::Access, span, format!("struct {root} has no members to read"))
                    .with_hint("read through a pointer to a struct with members"),
            );
            return None;
        }
        let mut types = Vec::new();
        for name in &names {
            let member_path = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
            let place = self.lookup(pointer.clone(), root, member_path.clone(), 0, span)?;
            let ty = match place.is_record() {
                true => self.record_fields(pointer, root, &member_path, span, fields)?,
                false => {
                    let value = self.read(place, span)?;
                    let ExprKind::KernelRead(read) = value.kind else { return None };
                    fields.push(StructField {
                        offset: read.offset,
                        size: read.size,
                        bitfield: read.bitfield,
                        ty: value.ty,
                    });
                    value.ty
                }
            };
            types.push(ty);
        }
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        Some(Type::Tuple(TupleType::record(&types, &names)))
    }

    /// Bytes of what `pointer` points to: how far `+ 1` moves it.
    fn pointee_size(&mut self, pointer: PointerType, span: Span) -> Option<u32> {
        let name = match (pointer.pointee, pointer.depth) {
            (Pointee::Int { bytes, .. }, 1) => return Some(u32::from(bytes)),
            // As in GNU C and bpftrace: `void *` moves in bytes.
            (Pointee::Void, 1) => return Some(1),
            (Pointee::Record(name), 1) => name,
            _ => return Some(8),
        };
        match self.kernel.struct_size(name.as_str()) {
            Ok(Some(size)) => Some(size),
            Ok(None) => {
                self.diagnostics.push(Diagnostic::new(
                    Code::UnknownType,
                    span,
                    format!("the size of struct `{name}` is unknown: a pointer to it cannot move"),
                ));
                None
            }
            Err(error) => {
                self.diagnostics.push(Diagnostic::new(
                    Code::MissingTarget,
                    span,
                    format!("cannot read the size of struct `{name}` from BTF: {error}"),
                ));
                None
            }
        }
    }
}

/// `count * size`, folded when `count` is a constant.
fn scaled(count: Expr, size: u32) -> Expr {
    let (span, ty) = (count.span, count.ty);
    match count.kind {
        _ if size == 1 => count,
        ExprKind::Const(value) => Expr { kind: ExprKind::Const(value.wrapping_mul(i64::from(size))), ty, span },
        _ => {
            let size = Expr { kind: ExprKind::Const(i64::from(size)), ty: Type::U64, span };
            Expr { kind: ExprKind::Binary(BinaryOp::Mul, Box::new(count), Box::new(size)), ty, span }
        }
    }
}
