BEGIN { else { exit(); } }
