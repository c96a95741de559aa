BEGIN { @c[1] = count(); print(@c, 1, 2, 3); exit(); }
