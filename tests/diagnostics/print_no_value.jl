BEGIN { print(exit()); }
