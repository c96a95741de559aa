struct foo { char y; } __attribute__((unused)) BEGIN { print(sizeof(struct foo)); }
