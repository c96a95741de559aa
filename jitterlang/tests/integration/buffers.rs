//! `buf()` and `ntop(af, addr)` end to end: bytes and addresses the test hands the kernel, read back and printed.

use crate::runtime::{map_data, printed, Tracing};
use jitterlib::testing::{can_trace, skip};
use serde_json::Value;
use std::net::{TcpListener, TcpStream};

/// A descriptor no test opens: writes to it fail with EBADF, but the tracepoint still sees their arguments.
const UNUSED_FD: i32 = 998;

#[test]
fn buf_reads_bytes_and_prints_them_like_bpftrace() {
    if !can_trace("buf_reads_bytes_and_prints_them_like_bpftrace") {
        return;
    }
    let tid = unsafe { libc::gettid() };
    let script = format!(
        "tracepoint:syscalls:sys_enter_write /tid == {tid} && args.fd == {UNUSED_FD}/ {{ @[buf(args.buf, 6)] = count(); \
         printf(\"%r|%rx|%rh\\n\", buf(args.buf, 3), buf(args.buf, 2), buf(args.buf, 4)); }}"
    );
    let tracing = Tracing::start(&script, 1.5);
    // On the heap, written just now: the write to an unused fd fails before it reads the buffer, so a constant's
    // page might never be faulted in, and a tracepoint program cannot fault it in (it read zeros once in CI).
    let bytes = b"ab\x01\xffcd and more".to_vec();
    for _ in 0..3 {
        // SAFETY: the buffer outlives the call and the length is within it.
        unsafe { libc::write(UNUSED_FD, bytes.as_ptr().cast(), bytes.len()) };
    }
    let lines = tracing.finish();
    assert_eq!(map_data(&lines, "@"), &serde_json::json!({ "ab\\x01\\xffcd": 3 }), "{lines:#?}");
    let printed = printed(&lines);
    assert_eq!(printed, ["ab\\x01|\\x61\\x62|61 62 01 ff\n"; 3], "{lines:#?}");
}

/// One connection over loopback with `listener`, closed at once.
fn connect_once(listener: &TcpListener) {
    let client = TcpStream::connect(listener.local_addr().expect("address")).expect("connect");
    let (server, _) = listener.accept().expect("accept");
    drop((client, server));
}

#[test]
fn ntop_prints_the_address_its_family_says() {
    if !can_trace("ntop_prints_the_address_its_family_says") {
        return;
    }
    let (v4, v6) = match (TcpListener::bind("127.0.0.1:0"), TcpListener::bind("[::1]:0")) {
        (Ok(v4), Ok(v6)) => (v4, v6),
        (v4, v6) => {
            skip("ntop_prints_the_address_its_family_says", format!("needs IPv4 and IPv6 loopback: {v4:?} {v6:?}"));
            return;
        }
    };
    let ports: Vec<u16> = [&v4, &v6].iter().map(|listener| listener.local_addr().expect("address").port()).collect();
    let script = format!(
        "tracepoint:sock:inet_sock_set_state /args.sport == {p4} || args.dport == {p4} || args.sport == {p6} || args.dport == {p6}/ {{ \
         @v4[ntop(args.family, args.saddr)] = count(); @v6[ntop(args.family, args.saddr_v6)] = count(); \
         @own[ntop(AF_INET6, args.saddr_v6)] = count(); @bytes[buf(args.saddr)] = count(); @word[args.saddr] = count(); }}",
        p4 = ports[0],
        p6 = ports[1]
    );
    let tracing = Tracing::start(&script, 1.5);
    connect_once(&v4);
    connect_once(&v6);
    let lines = tracing.finish();
    let keys = |name: &str| -> Vec<String> {
        map_data(&lines, name).as_object().expect("keyed map").keys().cloned().collect()
    };
    // An IPv4 socket's address under AF_INET is its saddr; an IPv6 socket's under AF_INET6 its saddr_v6.
    assert!(keys("@v4").contains(&"127.0.0.1".to_string()), "{lines:#?}");
    assert!(keys("@v6").contains(&"::1".to_string()), "{lines:#?}");
    // A constant family prints every address as that family: the IPv4 socket's is v4-mapped.
    let own = keys("@own");
    assert!(own.contains(&"::1".to_string()) && own.contains(&"::ffff:127.0.0.1".to_string()), "{own:?}");
    // `__u8 saddr[4]` is 4 bytes to buf() and one integer, its first byte lowest, to everything else.
    assert!(keys("@bytes").contains(&"\\x7f\\x00\\x00\\x01".to_string()), "{lines:#?}");
    assert!(keys("@word").contains(&u32::from_le_bytes([127, 0, 0, 1]).to_string()), "{lines:#?}");
    let counts: u64 = map_data(&lines, "@v4").as_object().expect("keyed map").values().filter_map(Value::as_u64).sum();
    assert!(counts >= 4, "both connections changed state at least twice each: {lines:#?}");
}
