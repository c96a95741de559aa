BEGIN { 1 + 2; str(0); exit(); }
