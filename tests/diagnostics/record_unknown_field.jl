BEGIN { $r = (a=1, b=2); print($r.c); }
