BEGIN { print((enum Color)1); }
