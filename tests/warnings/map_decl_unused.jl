let @a = percpuhash(4); BEGIN { @b = 1; }
