struct foo { unsigned long long x_0:1; unsigned long long x_1:1; unsigned long long x_2:2; } BEGIN { $val = (uint64)0x1e; $f = *(struct foo *)(&$val); print($f); }
