// software:EVENT:COUNT is a perf_event program on a software counter: here every context switch.
software:cs:1 { @[comm] = count(); }
