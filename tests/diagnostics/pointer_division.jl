BEGIN { $p = (uint32 *)4096; $half = $p / 2; }
