BEGIN { $i = 0; $sum = 0; while ($i < 10) { $sum += $i; $i++; } @sum = $sum; }
