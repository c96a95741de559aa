// rawtracepoint:MODULE:NAME names the module whose BTF declares it: an unknown one is refused
rawtracepoint:nonsense:sys_exit { exit(); }
