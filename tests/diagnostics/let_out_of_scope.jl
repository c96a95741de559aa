BEGIN { if (1) { let $c = 5; } print($c); }
