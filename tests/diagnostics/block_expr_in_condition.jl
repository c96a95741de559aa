BEGIN { $n = 0; while ($n < { $n++; 3 }) { } }
