//! jitterlang: a small bpftrace-like language compiled straight to eBPF bytecode.
#![deny(missing_docs)]

pub mod ast;
pub mod codegen;
pub mod diag;
pub mod ir;
pub mod printf;
pub mod runtime;
pub mod sema;
pub mod syntax;

use jitterlib::kernel::KernelInfo;

/// Compiles a script without arguments: parse, check against the kernel, generate programs and the ELF object.
pub fn compile(source: &str, kernel: &dyn KernelInfo) -> Result<codegen::Compiled, diag::Diagnostics> {
    compile_with_args(source, kernel, &[])
}

/// Compiles a script whose positional parameters `$1`, `$2`, ... are `args`.
pub fn compile_with_args(
    source: &str,
    kernel: &dyn KernelInfo,
    args: &[String],
) -> Result<codegen::Compiled, diag::Diagnostics> {
    let script = syntax::parse(source)?;
    let checked = sema::check(&script, kernel, args)?;
    codegen::generate(&checked)
}
