interval:5 { exit(); }
