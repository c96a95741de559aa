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
fn nsecs_prints_its_nanoseconds_everywhere_as_bpftrace_does() {
    if !can_trace("nsecs_prints_its_nanoseconds_everywhere_as_bpftrace_does") {
        return;
    }
    // A reading printed alone, as a map value, a map key, in a tuple, and moved by a duration (one second later)
    // or by an integer (one nanosecond earlier): each the integer of nanoseconds, within the run.
    let script = "BEGIN { print(nsecs); @v = nsecs; @k[nsecs] = 1; @t = (nsecs, 7); @later = nsecs + 1s; \
                  @earlier = nsecs - 1; exit(); }";
    for json in [false, true] {
        let before = clock_ns(libc::CLOCK_MONOTONIC);
        let args = if json { vec!["-f", "json", "-e", script] } else { vec!["-e", script] };
        let (code, stdout, stderr) = run_jl(&args);
        let after = clock_ns(libc::CLOCK_MONOTONIC);
        assert_eq!(code, 0, "{stderr}");
        let text = |prefix: &str, suffix: &str| -> u64 {
            let line = stdout.lines().find_map(|line| line.strip_prefix(prefix)?.strip_suffix(suffix));
            line.unwrap_or_else(|| panic!("no {prefix}...{suffix} in {stdout}")).parse().expect("an integer")
        };
        let read = if json {
            let lines: Vec<serde_json::Value> =
                stdout.lines().map(|line| serde_json::from_str(line).expect("a JSON line")).collect();
            let value = |kind: &str, name: Option<&str>| {
                let found =
                    lines.iter().find(|line| line["type"] == kind && name.is_none_or(|n| !line["data"][n].is_null()));
                let data = &found.unwrap_or_else(|| panic!("no {kind} {name:?} in {stdout}"))["data"];
                name.map_or(data, |name| &data[name]).clone()
            };
            let key = value("map", Some("@k")).as_object().expect("@k").keys().next().expect("a key").clone();
            vec![
                value("value", None).as_u64().expect("print(nsecs)"),
                value("map", Some("@v")).as_u64().expect("@v"),
                key.parse().expect("an integer key"),
                value("map", Some("@t"))[0].as_u64().expect("@t.0"),
                value("map", Some("@later")).as_u64().expect("@later") - 1_000_000_000,
                value("map", Some("@earlier")).as_u64().expect("@earlier") + 1,
            ]
        } else {
            let printed = stdout.lines().find(|line| !line.is_empty()).expect("print(nsecs)");
            vec![
                printed.parse().expect("print(nsecs) is an integer"),
                text("@v: ", ""),
                text("@k[", "]: 1"),
                text("@t: (", ", 7)"),
                text("@later: ", "") - 1_000_000_000,
                text("@earlier: ", "") + 1,
            ]
        };
        for value in read {
            assert!((before..=after).contains(&value), "{value} not in {before}..={after} (json: {json}): {stdout}");
        }
    }
}

#[test]
fn differences_of_readings_stay_durations() {
    if !can_trace("differences_of_readings_stay_durations") {
        return;
    }
    // The latency-script pattern: a reading kept in a map, subtracted from a later one, gives time units in a
    // histogram, an aggregation and a variable; no longer than the whole run.
    let before = clock_ns(libc::CLOCK_MONOTONIC);
    let (code, stdout, stderr) = run_jl(&[
        "-e",
        "BEGIN { @t[tid] = nsecs; $d = nsecs - @t[tid]; print($d); printf(\"%llu\\n\", $d); \
         @h = hist(nsecs - @t[tid]); @m = max(nsecs - @t[tid]); delete(@t[tid]); exit(); }",
    ]);
    let run = clock_ns(libc::CLOCK_MONOTONIC) - before;
    assert_eq!(code, 0, "{stderr}");
    let mut lines = stdout.lines().filter(|line| !line.is_empty());
    let (shown, exact) = (lines.next().expect("print($d)"), lines.next().expect("printf of $d"));
    let exact: u64 = exact.parse().expect("printf %llu of a duration is its nanoseconds");
    assert!(exact > 0 && exact < run, "{exact} not in 1..{run}: {stdout}");
    assert_eq!(shown, jitterlib::agg::format_duration(exact as i64), "{stdout}");
    let unit = |text: &str| text.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.').to_string();
    let time_unit = |text: &str| ["ns", "us", "ms"].contains(&unit(text).as_str());
    assert!(time_unit(shown), "{stdout}");
    // One run, in a bucket bounded in time units (`[1us, 2us)`), where a plain histogram says `[1K, 2K)`.
    let bucket = stdout.lines().find(|line| line.starts_with('[')).expect("a histogram bucket");
    let (range, count) = bucket[1..].split_once(')').expect("a bucket's range");
    let (low, high) = range.split_once(", ").expect("two bounds");
    assert!(time_unit(low) && time_unit(high), "{bucket}");
    assert!(count.trim_start().starts_with("1 "), "{bucket}");
    let max = stdout.lines().find_map(|line| line.strip_prefix("@m: ")).expect("@m");
    assert!(time_unit(max), "{stdout}");
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
