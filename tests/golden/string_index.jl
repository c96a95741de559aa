BEGIN { $s = "foo"; $i = 1; @c = $s[$i]; }
