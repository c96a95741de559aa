macro bump($n) { $n += 1; }
BEGIN { bump(1); exit(); }
