// uprobe: the raw argument registers, `str()` of a process's pointer through bpf_probe_read_user_str alone,
// and `func` written as a constant. /proc/self/exe is the test binary, whose `main` every Rust program has.
uprobe:/proc/self/exe:main { @[func, arg0] = count(); printf("%s\n", str(arg1)); }
