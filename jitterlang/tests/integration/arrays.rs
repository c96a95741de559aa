//! Array values as bpftrace 0.27 makes them (`(int8[8])12345`, `(int8[])"hello"`, `(bool[2])x`): built, indexed,
//! compared and cast back by the kernel program, printed (text and JSON) by jl as bpftrace prints them.

use crate::support::run_jl;
use jitterlib::testing::can_trace;

/// The lines of a script that exits by itself.
fn lines_of(args: &[&str]) -> Vec<String> {
    let (code, out, err) = run_jl(args);
    assert_eq!(code, 0, "jl {args:?} failed:\n{out}\n{err}");
    out.lines().filter(|line| !line.is_empty()).map(String::from).collect()
}

#[test]
fn array_casts_print_and_index_as_bpftrace_does() {
    if !can_trace("array_casts_print_and_index_as_bpftrace_does") {
        return;
    }
    // Every expected line is what bpftrace 0.27.1 printed for the same program on this host.
    let script = r#"BEGIN { print((int8[8])12345); printf("first byte: %x\n", ((int8[])12345)[0]);
        print((int8[])"hello"); print((uint8[])200); print((int8[])-1); $i = 1; $a = (int16[2])1234567;
        printf("%d %d\n", $a[$i], $a[0]); printf("%s\n", (int8[])"hi");
        print((int8[])"hi" == (int8[])"ho"); print((int8[4])(int32)5 == (int8[4])(int32)5);
        printf("%x\n", (uint32)(uint8[4])(uint32)0xaabbccdd);
        print((sizeof((int8[])12345), sizeof((int8[])"hello")));
        @a = (bool[2])(uint16)1; @k[(uint8[2])(uint16)258] = 1; @t = (1, (uint8[4])(uint32)0x01020304); exit(); }"#;
    assert_eq!(
        lines_of(&["-e", script]),
        [
            "[57,48,0,0,0,0,0,0]",
            "first byte: 39",
            "[104,101,108,108,111,0]",
            "[200,0]",
            "[-1]",
            "18 -10617",
            "[104,105,0]",
            "false",
            "true",
            "aabbccdd",
            "(2, 6)",
            "@a: [true,false]",
            "@k[[2,1]]: 1",
            "@t: (1, [4,3,2,1])",
        ]
    );
}

#[test]
fn an_array_holds_the_bytes_of_a_value_the_kernel_computed() {
    if !can_trace("an_array_holds_the_bytes_of_a_value_the_kernel_computed") {
        return;
    }
    // The process id in a register, split into its four bytes on the stack, read back one by one and whole.
    let script = r#"BEGIN { $p = (uint32)pid; $a = (uint8[4])(uint32)pid; $i = 3;
        printf("%d %d %d %d %d %d\n", $p, (uint32)$a, $a[0], $a[1], $a[2], $a[$i]); print($a); exit(); }"#;
    let lines = lines_of(&["-e", script]);
    let numbers: Vec<u64> = lines[0].split(' ').map(|n| n.parse().expect("a number")).collect();
    let pid = numbers[0];
    assert!(pid > 1, "{lines:?}");
    assert_eq!(numbers[1], pid, "{lines:?}");
    let bytes = (pid as u32).to_le_bytes();
    assert_eq!(numbers[2..], bytes.map(u64::from), "{lines:?}");
    assert_eq!(lines[1], format!("[{},{},{},{}]", bytes[0], bytes[1], bytes[2], bytes[3]));
}

#[test]
fn arrays_are_json_arrays() {
    if !can_trace("arrays_are_json_arrays") {
        return;
    }
    let script = r#"BEGIN { print((int8[])"hi"); @a = (bool[2])(uint16)1; @k[(uint8[2])(uint16)258] = 1; exit(); }"#;
    let lines = lines_of(&["-f", "json", "-e", script]);
    // bpftrace 0.27.1's lines for the same program.
    for expected in [
        r#"{"type": "value", "data": [104,105,0]}"#,
        r#"{"type": "map", "data": {"@a": [true,false]}}"#,
        r#"{"type": "map", "data": {"@k": {"[2,1]": 1}}}"#,
    ] {
        let expected: serde_json::Value = serde_json::from_str(expected).expect("JSON");
        assert!(
            lines.iter().any(|line| serde_json::from_str::<serde_json::Value>(line).ok() == Some(expected.clone())),
            "{expected} not in {lines:?}"
        );
    }
}

#[test]
fn an_index_past_the_end_reads_0_and_is_counted() {
    if !can_trace("an_index_past_the_end_reads_0_and_is_counted") {
        return;
    }
    // Indexes known only while running: the last element, one past an array's end, one far past a string's.
    let script = "BEGIN { $i = 7; $a = (uint8[8])0x0102030405060708; $s = \"ab\"; \
                  printf(\"%d %d %d\\n\", $a[$i], $a[$i + 1], $s[$i + 100]); exit(); }";
    let (code, out, err) = run_jl(&["-e", script]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("1 0 0\n"), "{out}");
    assert!(err.contains("jl: warning: 2 indexes past the end of their array or string (each read 0)"), "{err}");
}
