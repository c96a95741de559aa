timer() /dur > 10ms/ { printf("%s took %d ns\n", ksym(func), dur); }
