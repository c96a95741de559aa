BEGIN { $v = (void *)0x10; @ = *$v; }
