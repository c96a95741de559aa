BEGIN { $t = (1, "two", 3); $i = 1; print($t[$i]); }
