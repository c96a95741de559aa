// profile: a CPU clock perf event at 99 Hz on every CPU, and one at 49 Hz on CPU 1.
profile:hz:99 { @[cpu] = count(); }
profile:hz:49:1 { @one = count(); }
