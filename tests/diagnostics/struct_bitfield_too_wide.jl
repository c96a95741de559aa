struct foo { unsigned char flag:9; }
BEGIN { }
