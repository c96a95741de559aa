BEGIN { $a = (int32 *)0x10; @d = 100 - $a; }
