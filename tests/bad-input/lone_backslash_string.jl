BEGIN { printf("\"); }
