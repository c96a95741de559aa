BEGIN { printf("ends with \"); }
