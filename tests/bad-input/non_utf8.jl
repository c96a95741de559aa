BEGIN { printf("ÿþ café"); }
