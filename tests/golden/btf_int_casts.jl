// Integer casts keep the low bits: uint8/uint16 mask, uint32 is a 32-bit move, signed ones shift back.
tracepoint:raw_syscalls:sys_enter { @u8 = sum((uint8)args.id); @u32 = sum((uint32)args.id); @i16 = sum((int16)args.id); }
