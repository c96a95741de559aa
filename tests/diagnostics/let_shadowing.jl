BEGIN { $c = 1; let $c = 2; }
