BEGIN { @m[1] = 1; for ($kv : @m) { if ($kv.1 == 1) { return; } } @after = 1; }
