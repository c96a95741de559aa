interval:s:0 { exit(); }
