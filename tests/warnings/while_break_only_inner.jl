// The break leaves the inner loop only: the outer one still ends only at its cap.
BEGIN {
  $n = 0;
  while (1) {
    while ($n < 5) { $n++; if ($n == 3) { break; } }
    $n = 0;
  }
  exit();
}
