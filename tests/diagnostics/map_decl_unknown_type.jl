let @a = percpuarray(4); BEGIN { @a[1] = 1; }
