BEGIN { let $n; print($n); }
