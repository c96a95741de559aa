BEGIN { $a = 0x10; @d = $a[1]; }
