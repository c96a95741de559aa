BEGIN { $b = &$1; }
