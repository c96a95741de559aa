let @a = hash(4); BEGIN { @a[1] = count(); }
