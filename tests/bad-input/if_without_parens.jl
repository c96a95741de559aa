BEGIN { if 1 { exit(); } }
