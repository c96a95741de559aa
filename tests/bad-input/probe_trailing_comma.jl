BEGIN, { exit(); }
