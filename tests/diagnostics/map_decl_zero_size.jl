let @a = lruhash(0); BEGIN { @a[1] = 1; }
