$2 { exit(); }
