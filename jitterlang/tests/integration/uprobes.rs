//! User-space probes on real processes: a C program the tests build (tests/programs/uprobe_target.c), libc
//! by its short name, and an interactive bash's `readline`; exact call counts and argument values.

use crate::runtime::{map_data, printed, Tracing};
use crate::support::run_jl;
use crate::targets::{build, Target};
use jitterlib::testing::can_trace;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// Calls of each function per request the target serves.
const CALLS: u32 = 3;

/// uprobe_target.c built once (into `built`) as `output` with gcc's `flags`.
fn built(
    built: &'static OnceLock<Result<PathBuf, String>>,
    output: &str,
    flags: &[&str],
) -> Result<&'static PathBuf, &'static str> {
    built.get_or_init(|| build("uprobe_target.c", output, flags)).as_ref().map_err(String::as_str)
}

fn target_binary() -> Result<&'static PathBuf, &'static str> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    built(&BUILT, "uprobe_target", &["-O0"])
}

/// The target stripped of its `.symtab`: `jl_greet` (static) is no longer known, `jl_add` (exported) is not
/// either since executables export nothing unless asked.
fn stripped_binary() -> Result<&'static PathBuf, &'static str> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    built(&BUILT, "uprobe_target_stripped", &["-O0", "-s"])
}

fn start(test: &str) -> Option<Target> {
    Target::start(test, target_binary(), &[&CALLS.to_string()])
}

/// Traces with `script` (where `BIN` stands for the target's path and `PID` for its pid) while the target
/// serves `requests`, and returns jl's JSON output.
fn trace(target: &mut Target, options: &[&str], script: &str, requests: &[&str]) -> Vec<Value> {
    trace_binary(target_binary().expect("built"), target, options, script, requests)
}

/// [`trace`] for a target built from another program, `binary`.
pub(crate) fn trace_binary(
    binary: &std::path::Path,
    target: &mut Target,
    options: &[&str],
    script: &str,
    requests: &[&str],
) -> Vec<Value> {
    let binary = binary.display().to_string();
    let script = script.replace("BIN", &binary).replace("PID", &target.pid.to_string());
    let mut all = vec!["-f", "json"];
    all.extend_from_slice(options);
    let tracing = Tracing::start_with(&all, &script, 1.5);
    for request in requests {
        assert!(target.call(request).starts_with("done "));
    }
    tracing.finish()
}

#[test]
fn uprobes_see_each_call_with_its_arguments_and_return_value() {
    let Some(mut target) = start("uprobes_see_each_call_with_its_arguments_and_return_value") else { return };
    let lines = trace(
        &mut target,
        &[],
        "uprobe:BIN:jl_add /pid == PID/ { @calls = count(); @args[arg0, arg1] = count(); }
         uretprobe:BIN:jl_add /pid == PID/ { @ret[retval] = count(); }
         uprobe:BIN:jl_greet /pid == PID/ { @names[str(arg0)] = count(); @funcs[func] = count(); }",
        &["alice", "bob"],
    );
    assert_eq!(map_data(&lines, "@calls"), &json!(2 * CALLS));
    assert_eq!(map_data(&lines, "@args"), &json!({"1,10": 2, "2,20": 2, "3,30": 2}));
    assert_eq!(map_data(&lines, "@ret"), &json!({"11": 2, "22": 2, "33": 2}));
    assert_eq!(map_data(&lines, "@names"), &json!({"alice": CALLS, "bob": CALLS}));
    assert_eq!(map_data(&lines, "@funcs"), &json!({"jl_greet": 2 * CALLS}));
}

#[test]
fn wildcards_attach_to_every_matching_function() {
    let Some(mut target) = start("wildcards_attach_to_every_matching_function") else { return };
    let lines = trace(&mut target, &[], "uprobe:BIN:jl_* /pid == PID/ { @[func] = count(); }", &["x"]);
    assert_eq!(map_data(&lines, "@"), &json!({"jl_add": CALLS, "jl_greet": CALLS}));
}

#[test]
fn dash_p_leaves_out_other_processes_of_the_same_binary() {
    let Some(mut target) = start("dash_p_leaves_out_other_processes_of_the_same_binary") else { return };
    let Some(mut other) = start("dash_p_leaves_out_other_processes_of_the_same_binary") else { return };
    let pid = target.pid.to_string();
    let binary = target_binary().expect("built").display().to_string();
    let script = format!("uprobe:{binary}:jl_add {{ @[pid] = count(); }}");
    let tracing = Tracing::start_with(&["-f", "json", "-p", &pid], &script, 1.5);
    assert!(target.call("one").starts_with("done "));
    assert!(other.call("two").starts_with("done "));
    let lines = tracing.finish();
    assert_eq!(map_data(&lines, "@"), &json!({ pid: CALLS }));
}

#[test]
fn libc_is_found_by_its_short_name() {
    let Some(mut target) = start("libc_is_found_by_its_short_name") else { return };
    let lines = trace(
        &mut target,
        &[],
        "uprobe:libc:fflush /pid == PID/ { @flushes = count(); } uretprobe:libc:fflush /pid == PID/ { @ret[retval] = count(); }",
        &["a", "b", "c"],
    );
    assert_eq!(map_data(&lines, "@flushes"), &json!(3));
    assert_eq!(map_data(&lines, "@ret"), &json!({"0": 3}));
}

#[test]
fn bash_readline_returns_the_lines_typed() {
    if !can_trace("bash_readline_returns_the_lines_typed") {
        return;
    }
    // readline runs only on a terminal: `script` gives the shell one.
    let tracing = Tracing::start(
        r#"uretprobe:/bin/bash:readline /str(retval) == "echo jl-uprobe-1" || str(retval) == "echo jl-uprobe-2"/ {
             printf("%s\n", str(retval)); }"#,
        1.5,
    );
    let shell = Command::new("script")
        .args(["-q", "-c", "bash --norc --noprofile -i", "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut shell) = shell else {
        panic!("bash_readline_returns_the_lines_typed needs `script` (util-linux) to give bash a terminal");
    };
    use std::io::Write;
    let mut input = shell.stdin.take().expect("stdin");
    input.write_all(b"echo jl-uprobe-1\necho jl-uprobe-2\nexit\n").expect("type");
    drop(input);
    shell.wait().expect("wait for bash");
    let lines = tracing.finish();
    assert_eq!(printed(&lines), ["echo jl-uprobe-1\n", "echo jl-uprobe-2\n"]);
}

#[test]
fn stripped_binaries_say_what_is_left() {
    let binary = match stripped_binary() {
        Ok(binary) => binary.display().to_string(),
        Err(why) => panic!("stripped_binaries_say_what_is_left needs gcc: {why}"),
    };
    let (code, _, stderr) = run_jl(&["-d", "-e", &format!("uprobe:{binary}:jl_greet {{ }}")]);
    assert_eq!(code, 2, "a compile error: {stderr}");
    assert!(stderr.contains(&format!("`{binary}` has no function `jl_greet`")), "{stderr}");
    assert!(stderr.contains("is stripped: only the functions it exports are known"), "{stderr}");
}

#[test]
fn listing_a_binary_prints_its_functions() {
    let binary = target_binary().expect("gcc builds the target").display().to_string();
    let (code, stdout, stderr) = run_jl(&["-l", &format!("uprobe:{binary}:jl_*")]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, format!("uprobe:{binary}:jl_add\nuprobe:{binary}:jl_greet\n"));
}

#[test]
fn indirect_functions_are_refused_with_the_reason() {
    // glibc's strlen is an IFUNC: its resolver runs once, at load time.
    let (code, _, stderr) = run_jl(&["-d", "-e", "uprobe:libc:strlen { @ = count(); }"]);
    assert_eq!(code, 2, "a compile error: {stderr}");
    assert!(stderr.contains("`strlen` of `") && stderr.contains("is an indirect function (IFUNC)"), "{stderr}");
}

/// The virtual address of `function` in the target, as `nm` prints it.
fn address_of(function: &str) -> String {
    let binary = target_binary().expect("built");
    let output = Command::new("nm").arg(binary).output().expect("run nm (binutils come with gcc)");
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text.lines().find(|line| line.ends_with(&format!(" {function}"))).expect("the symbol");
    let address = u64::from_str_radix(line.split_whitespace().next().expect("an address"), 16).expect("hex");
    format!("0x{address:x}")
}

#[test]
fn addresses_and_offsets_into_functions_fire_there() {
    let Some(mut target) = start("addresses_and_offsets_into_functions_fire_there") else { return };
    // `jl_add+4` is the instruction after `push %rbp` (1 byte) and `mov %rsp,%rbp` (3 bytes) at -O0.
    let script = format!(
        "uprobe:BIN:{} /pid == PID/ {{ @start[func] = count(); }} uprobe:BIN:jl_add+4 /pid == PID/ {{ @inside[func] = count(); }}",
        address_of("jl_add")
    );
    let lines = trace(&mut target, &["--unsafe"], &script, &["x", "y"]);
    assert_eq!(map_data(&lines, "@start"), &json!({"jl_add": 2 * CALLS}));
    assert_eq!(map_data(&lines, "@inside"), &json!({"jl_add": 2 * CALLS}));
}

#[test]
fn offsets_into_functions_need_unsafe() {
    let binary = target_binary().expect("gcc builds the target").display().to_string();
    let (code, _, stderr) = run_jl(&["-d", "-e", &format!("uprobe:{binary}:jl_add+4 {{ }}")]);
    assert_eq!(code, 2, "a compile error: {stderr}");
    assert!(
        stderr.contains("`jl_add+4` is 4 bytes into `jl_add`") && stderr.contains("only allowed with --unsafe"),
        "{stderr}"
    );
    let (code, _, stderr) = run_jl(&["-d", "-e", &format!("uretprobe:{binary}:jl_add+4 {{ }}")]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("it takes no offset"), "{stderr}");
}

#[test]
fn pointer_casts_read_user_memory() {
    let Some(mut target) = start("pointer_casts_read_user_memory") else { return };
    // jl_greet's argument points into the process: `*(uint8 *)` reads its first byte and `*(uint32 *)` its
    // first four (little endian) with bpf_probe_read_user.
    let lines = trace(
        &mut target,
        &[],
        "uprobe:BIN:jl_greet /pid == PID/ { @first[*(uint8 *)arg0] = count(); @word[*(uint32 *)arg0] = count(); }",
        &["alice", "bob"],
    );
    assert_eq!(map_data(&lines, "@first"), &json!({"97": CALLS, "98": CALLS}));
    let word = |text: &[u8]| u32::from_le_bytes(text[..4].try_into().expect("4 bytes")).to_string();
    assert_eq!(map_data(&lines, "@word"), &json!({word(b"alic"): CALLS, word(b"bob\0"): CALLS}));
}

#[test]
fn typed_pointers_index_and_move_by_their_pointee() {
    let Some(mut target) = start("typed_pointers_index_and_move_by_their_pointee") else { return };
    // jl_greet's string through `uint8 *` (`$p[1]`, `*($p + 2)`: one byte a step) and `uint16 *` (two a step).
    let lines = trace(
        &mut target,
        &[],
        "uprobe:BIN:jl_greet /pid == PID/ { $p = (uint8 *)arg0; @second[$p[1]] = count(); @third[*($p + 2)] = count();
         $w = (uint16 *)arg0; @pair[$w[1]] = count(); @step[(uint64)($w + 3) - arg0] = count(); }",
        &["alice", "bob"],
    );
    assert_eq!(map_data(&lines, "@second"), &json!({b'l'.to_string(): CALLS, b'o'.to_string(): CALLS}));
    assert_eq!(map_data(&lines, "@third"), &json!({b'i'.to_string(): CALLS, b'b'.to_string(): CALLS}));
    let pair = |low: u8, high: u8| u16::from_le_bytes([low, high]).to_string();
    assert_eq!(map_data(&lines, "@pair"), &json!({pair(b'i', b'c'): CALLS, pair(b'b', 0): CALLS}));
    assert_eq!(map_data(&lines, "@step"), &json!({"6": 2 * CALLS}));
}

#[test]
fn script_structs_lay_out_user_memory() {
    let Some(mut target) = start("script_structs_lay_out_user_memory") else { return };
    // A struct the script defines over jl_greet's string: two chars, then a u16 of the next two bytes.
    let lines = trace(
        &mut target,
        &[],
        "struct name { char c0; char c1; u16 c23; }
         uprobe:BIN:jl_greet /pid == PID/ { $n = (struct name *)arg0; @[$n->c0, $n->c1, $n->c23] = count(); }",
        &["alice", "bob"],
    );
    let pair = |low: u8, high: u8| u16::from_le_bytes([low, high]);
    let alice = format!("{},{},{}", b'a', b'l', pair(b'i', b'c'));
    let bob = format!("{},{},{}", b'b', b'o', pair(b'b', 0));
    assert_eq!(map_data(&lines, "@"), &json!({alice: CALLS, bob: CALLS}));
}

#[test]
fn reg_reads_the_registers_the_call_saved() {
    let Some(mut target) = start("reg_reads_the_registers_the_call_saved") else { return };
    // At the entry of jl_add(a, b): di and si hold its arguments, ip is jl_add itself, and the call has just pushed
    // its return address onto a 16-byte aligned stack (the x86-64 ABI), so sp is 8 past a multiple of 16.
    let lines = trace(
        &mut target,
        &[],
        "uprobe:BIN:jl_add /pid == PID/ { @regs[reg(\"di\"), reg(\"si\")] = count(); @page[reg(\"ip\") & 4095] = count();
         @sp[reg(\"sp\") % 16] = count(); }",
        &["x", "y"],
    );
    assert_eq!(map_data(&lines, "@regs"), &json!({"1,10": 2, "2,20": 2, "3,30": 2}));
    let address = u64::from_str_radix(address_of("jl_add").trim_start_matches("0x"), 16).expect("hex");
    assert_eq!(map_data(&lines, "@page"), &json!({ (address & 4095).to_string(): 2 * CALLS }));
    assert_eq!(map_data(&lines, "@sp"), &json!({"8": 2 * CALLS}));
}

#[test]
fn usermode_tells_user_code_from_the_kernel() {
    let Some(mut target) = start("usermode_tells_user_code_from_the_kernel") else { return };
    // A uprobe stops the process in its own code: the saved code segment is the user one (cs & 3 == 3). The
    // target's write(2) of its answer runs in the kernel; BEGIN counts as user code, as in bpftrace.
    let lines = trace(
        &mut target,
        &[],
        "BEGIN { @begin[usermode, probetype] = count(); }
         uprobe:BIN:jl_add /pid == PID/ { @user[usermode, probetype] = count(); }
         tracepoint:syscalls:sys_enter_write /pid == PID/ { @kernel[usermode(), probetype()] = count(); }",
        &["x"],
    );
    assert_eq!(map_data(&lines, "@begin"), &json!({"1,special": 1}));
    assert_eq!(map_data(&lines, "@user"), &json!({"1,uprobe": CALLS}));
    let kernel = map_data(&lines, "@kernel").as_object().expect("a map");
    assert_eq!(kernel.keys().collect::<Vec<_>>(), ["0,tracepoint"], "{kernel:?}");
}

#[test]
fn usym_names_the_function_of_an_address_in_the_process_that_recorded_it() {
    let Some(mut target) = start("usym_names_the_function_of_an_address_in_the_process_that_recorded_it") else {
        return;
    };
    // At jl_add's entry ip is jl_add (bpftrace prints the name alone, without `+offset`); at its return ip is back
    // in main. As a map key, a map value, in a tuple and in printf; an address no mapping holds prints in hex.
    let lines = trace(
        &mut target,
        &[],
        "uprobe:BIN:jl_add /pid == PID/ { @entry[usym(reg(\"ip\"))] = count(); @inside = usym(reg(\"ip\") + 3);
           @tuple = (1, usym(reg(\"ip\")), 10); @none = usym(8); }
         uretprobe:BIN:jl_add /pid == PID && retval == 11/ { printf(\"back in %s\\n\", usym(reg(\"ip\"))); }",
        &["x"],
    );
    assert_eq!(map_data(&lines, "@entry"), &json!({"jl_add": CALLS}));
    assert_eq!(map_data(&lines, "@inside"), &json!("jl_add"));
    assert_eq!(map_data(&lines, "@tuple"), &json!([1, "jl_add", 10]));
    assert_eq!(map_data(&lines, "@none"), &json!("0x8"));
    assert_eq!(printed(&lines), ["back in main\n"]);
}

/// The target linked at fixed addresses (`-no-pie`): `uaddr()` is a constant there.
fn fixed_binary() -> Result<&'static PathBuf, &'static str> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    built(&BUILT, "uprobe_target_fixed", &["-O0", "-no-pie"])
}

#[test]
fn uaddr_reads_the_variables_of_the_probed_binary_pie_or_not() {
    let test = "uaddr_reads_the_variables_of_the_probed_binary_pie_or_not";
    // As wide as the symbol: jl_wide is a uint64 *, jl_narrow a uint16 *, the 6-byte array a uint64 * read as a string.
    let script = "uprobe:BIN:jl_add /pid == PID/ { @wide = *uaddr(\"jl_wide\"); @narrow = *uaddr(\"jl_narrow\");
        @label = str(uaddr(\"jl_label\")); @add = usym(uaddr(\"jl_add\")); }";
    for binary in [target_binary(), fixed_binary()] {
        let Some(mut target) = Target::start(test, binary, &[&CALLS.to_string()]) else { return };
        let lines = trace_binary(binary.expect("built"), &mut target, &[], script, &["x"]);
        assert_eq!(map_data(&lines, "@wide"), &json!(0x5566778899_u64), "{binary:?}");
        assert_eq!(map_data(&lines, "@narrow"), &json!(0x3333));
        assert_eq!(map_data(&lines, "@label"), &json!("label"));
        assert_eq!(map_data(&lines, "@add"), &json!("jl_add"));
    }
}

#[test]
fn uaddr_says_where_it_cannot_be_known() {
    let Ok(pie) = target_binary() else { return };
    let pie = pie.display().to_string();
    let compile = |script: String| run_jl(&["-d", "-e", &script]);
    let (code, _, err) = compile(format!("uretprobe:{pie}:jl_add {{ @ = *uaddr(\"jl_wide\"); }}"));
    assert_eq!(code, 2);
    assert!(err.contains("is position-independent: where it is loaded is not known at a function's return"), "{err}");
    let (code, _, err) = compile(format!("uprobe:{pie}:jl_add {{ @ = *uaddr(\"jl_nothing\"); }}"));
    assert_eq!(code, 2);
    assert!(err.contains(&format!("`jl_nothing` is not a symbol of {pie}")), "{err}");
    let (code, _, err) = compile("BEGIN { @ = uaddr(\"jl_wide\"); }".to_string());
    assert_eq!(code, 2);
    assert!(err.contains("`uaddr()` works in uprobes, uretprobes and USDT probes, not in `BEGIN`"), "{err}");
    // Linked at fixed addresses, a uretprobe takes it.
    let Ok(fixed) = fixed_binary() else { return };
    let (code, out, err) = compile(format!("uretprobe:{}:jl_add {{ @ = *uaddr(\"jl_wide\"); }}", fixed.display()));
    assert_eq!(code, 0, "{err}");
    let binary = jitterlib::usym::Binary::open(&fixed.display().to_string()).expect("open");
    let (address, _) = binary.symbol("jl_wide").expect("jl_wide");
    assert!(out.contains(&format!(" = {address}\n")), "the constant address {address:#x}: {out}");
}
