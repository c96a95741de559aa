BEGIN { $p = (int32 *)0x10; @ = $p.x; }
