interval:s:1 { printf("%d\n", elapsed); }
