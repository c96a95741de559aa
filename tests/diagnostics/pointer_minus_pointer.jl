BEGIN { $a = (int32 *)0x10; $b = (int32 *)0x20; @d = $b - $a; }
