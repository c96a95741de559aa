//! bpftrace 0.27's string and clock functions run end to end on this host: `strlen`, `strstr`, `nsecs(mode)`,
//! `pton`, `strerror`, `signal_name` and `strftime()` in maps, each asserting on what the kernel reported or on the host's own
//! answer.

use crate::declarations::traced;
use crate::support::run_jl;
use jitterlib::testing::can_trace;

#[test]
fn strlen_and_strstr_measure_the_file_name_the_kernel_reported() {
    if !can_trace("strlen_and_strstr_measure_the_file_name_the_kernel_reported") {
        return;
    }
    // The name `cat` passes to openat, as the kernel read it: its length, where a needle that crosses an 8-byte
    // word is, one that is not there, the empty one, and the length of comm.
    let script = "tracepoint:syscalls:sys_enter_openat /strcontains(str(args.filename), \"jl_strlen_TID\")/ { \
                  printf(\"%d %d %d %d %d\\n\", strlen(str(args.filename)), strstr(str(args.filename), \"strlen_TID\"), \
                  strstr(str(args.filename), \"TIDx\"), strstr(str(args.filename), \"\"), strlen(comm)); exit(); }";
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    let name = format!("/nonexistent/jl_strlen_{tid}/x");
    let printed = traced(script, &format!("cat {name} 2>/dev/null; true"));
    let expected = format!("{} {} -1 0 3", name.len(), name.find("strlen_").expect("the needle"));
    assert_eq!(printed.lines().next(), Some(expected.as_str()), "{printed}");
}

/// The time of `clock` now, in nanoseconds.
fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid timespec for clock_gettime to write.
    assert_eq!(unsafe { libc::clock_gettime(clock, &mut now) }, 0);
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

#[test]
fn nsecs_reads_the_clock_it_names() {
    if !can_trace("nsecs_reads_the_clock_it_names") {
        return;
    }
    let clocks = [libc::CLOCK_MONOTONIC, libc::CLOCK_BOOTTIME, libc::CLOCK_TAI, libc::CLOCK_TAI];
    let before: Vec<u64> = clocks.iter().map(|clock| clock_ns(*clock)).collect();
    let (code, stdout, stderr) = run_jl(&[
        "-e",
        "BEGIN { printf(\"%llu %llu %llu %llu\\n\", nsecs(monotonic), nsecs(boot), nsecs(tai), nsecs(sw_tai)); \
         exit(); }",
    ]);
    let after: Vec<u64> = clocks.iter().map(|clock| clock_ns(*clock)).collect();
    assert_eq!(code, 0, "{stderr}");
    let read: Vec<u64> = stdout.split_whitespace().map(|word| word.parse().expect("a number")).collect();
    assert_eq!(read.len(), 4, "{stdout}");
    for (index, value) in read.iter().enumerate() {
        assert!((before[index]..=after[index]).contains(value), "clock {index}: {value} not in {before:?}..{after:?}");
    }
}

#[test]
fn pton_strerror_and_signal_name_print_as_the_host_says() {
    if !can_trace("pton_strerror_and_signal_name_print_as_the_host_says") {
        return;
    }
    let (code, stdout, stderr) = run_jl(&[
        "-e",
        "BEGIN { printf(\"%s %s %x|%s|%s\\n\", ntop(2, pton(\"127.0.0.1\")), ntop(pton(\"fe80::1:2\")), \
         (uint32)pton(\"127.0.0.1\"), strerror(22), strerror(-2)); print(signal_name(2)); exit(); }",
    ]);
    assert_eq!(code, 0, "{stderr}");
    // The C library's messages, as strerror(3) gives them on this host.
    let message = |errno| {
        // SAFETY: strerror returns a valid NUL-terminated string for any number.
        unsafe { std::ffi::CStr::from_ptr(libc::strerror(errno)) }.to_string_lossy().into_owned()
    };
    // SAFETY: as strerror, for strsignal.
    let signal = unsafe { std::ffi::CStr::from_ptr(libc::strsignal(2)) }.to_string_lossy().into_owned();
    let expected = format!("127.0.0.1 fe80::1:2 100007f|{}|{}\n{signal}", message(22), message(2));
    assert!(stdout.starts_with(&expected), "{stdout}");
}

#[test]
fn strftime_times_print_as_map_keys_and_values() {
    if !can_trace("strftime_times_print_as_map_keys_and_values") {
        return;
    }
    // `%s` is the Unix time in seconds: the kernel's clock, converted, must fall within the run.
    let seconds = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_secs();
    let before = seconds();
    let (code, stdout, stderr) =
        run_jl(&["-e", "BEGIN { @[strftime(\"%s\", nsecs)] = 1; @v = strftime(\"%s\", nsecs); exit(); }"]);
    let after = seconds();
    assert_eq!(code, 0, "{stderr}");
    let key = stdout.lines().find_map(|line| line.strip_prefix("@[")?.strip_suffix("]: 1")).expect("the key");
    let value = stdout.lines().find_map(|line| line.strip_prefix("@v: ")).expect("the value");
    for time in [key, value] {
        let time: u64 = time.parse().expect("seconds");
        assert!((before..=after).contains(&time), "{time} not in {before}..={after}: {stdout}");
    }
}
