let @a = lruhash(4);
let @a = hash(8);
BEGIN { @a[1] = 1; }
