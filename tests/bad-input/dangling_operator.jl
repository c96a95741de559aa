BEGIN { $x = 1 +; }
