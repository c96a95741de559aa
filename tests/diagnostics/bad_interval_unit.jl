interval:min:1 { exit(); }
