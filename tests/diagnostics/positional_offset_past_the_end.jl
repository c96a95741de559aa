BEGIN { printf("%s\n", str($1 + 7)); }
