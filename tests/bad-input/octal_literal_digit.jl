BEGIN { printf("%d\n", 0789); exit(); }
