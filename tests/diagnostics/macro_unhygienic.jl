macro count_it() { @calls++; }
BEGIN { @calls = 0; count_it(); exit(); }
