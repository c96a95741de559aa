let @a = percpuhash(4); BEGIN { @a[1] = 5; }
