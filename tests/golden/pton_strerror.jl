// pton() and strerror() are known when compiling: an IPv4 address is a constant, an IPv6 address two words
// stored as a 16-byte buffer, an error's message a string literal.
tracepoint:sched:sched_switch {
  printf("%s %s %x %s\n", ntop(2, pton("127.0.0.1")), ntop(10, pton("fe80::1")), (uint32)pton("10.0.0.1"),
         strerror(-22));
}
