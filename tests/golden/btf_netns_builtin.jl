// The builtin netns: curtask->nsproxy->net_ns->ns.inum, three kernel reads from the fixture's BTF offsets.
tracepoint:syscalls:sys_enter_getpid { @[netns] = count(); }
