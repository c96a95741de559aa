// A tracepoint's byte array longer than 8 bytes (`__u8 saddr_v6[16]`) is a buffer: copied from the record, it is
// the 16-byte address of ntop(af, addr) here, printed as the family read next to it says.
tracepoint:sock:inet_sock_set_state { @[ntop(args.family, args.saddr_v6)] = count(); }
