BEGIN { print((foo *)1); }
