BEGIN { assert(1, 2); }
