// ctx is r1 as the program received it (saved in r6); usermode is the privilege level of the saved cs
profile:hz:99 { @[usermode] = count(); @ctx = *(uint64 *)ctx; }
