interval:s:abc { exit(); }
