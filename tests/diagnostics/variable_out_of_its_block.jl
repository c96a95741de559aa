BEGIN { if (pid > 1) { $x = 1; } else { $x = 2; } print($x); }
