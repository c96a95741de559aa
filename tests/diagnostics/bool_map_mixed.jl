BEGIN { @m = 1; @m = true; }
