BEGIN { $a = 1; $b = &$a; @v = *$b; }
