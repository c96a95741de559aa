BEGIN { $p = (uint32)pid; $a = (uint8[4])$p; }
