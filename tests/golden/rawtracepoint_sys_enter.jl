// rawtracepoint: arguments from the btf_trace_sys_enter prototype, after its context pointer.
rawtracepoint:sys_enter /args.id == 39/ { @calls = count(); }
