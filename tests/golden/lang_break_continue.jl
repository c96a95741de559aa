// break and continue: in a while loop they jump to its end and to its counter; in unroll, to the end of all
// copies and to the end of the current copy.
BEGIN {
  $i = 0;
  while ($i < 10) { $i++; if ($i == 3) { continue; } if ($i == 6) { break; } @s = sum($i); }
  unroll(3) { $i++; if ($i == 8) { continue; } if ($i == 9) { break; } @u = sum($i); }
}
