BEGIN { exit("bye"); }
