BEGIN { printf("no end); }
