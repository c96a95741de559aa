BEGIN { $t = ("hi", 1); $t = ("hellolongstr", 2); @m[1] = $t; }
