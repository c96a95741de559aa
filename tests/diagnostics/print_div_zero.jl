BEGIN { @c = count(); print(@c, 0, 0); exit(); }
