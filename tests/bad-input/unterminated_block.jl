BEGIN { exit();
