// fentry: arguments typed from BTF, read from the trampoline's u64 argument array.
fentry:ip_rcv { @[args.orig_dev] = count(); }
