BEGIN { $on = true; $on = 5; }
