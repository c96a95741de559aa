BEGIN { printf("%s\n", ntop(pton("10.0.0.256"))); }
