BEGIN { $x++; }
