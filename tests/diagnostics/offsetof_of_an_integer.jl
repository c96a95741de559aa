BEGIN { print(offsetof(uint32, x)); }
