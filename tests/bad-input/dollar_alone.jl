BEGIN { $ = 1; }
