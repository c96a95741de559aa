BEGIN { $i = 0; unroll(3) { $i += 2; } @i = $i; }
