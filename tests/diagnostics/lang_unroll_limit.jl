BEGIN { unroll(101) { @x = 1; } }
