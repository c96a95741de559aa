BEGIN { printf("%s\n", ksym("x")); }
