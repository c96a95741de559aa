BEGIN { $s = "a" * 2; }
