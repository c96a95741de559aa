BEGIN { @c = count(); if (delete(@c)) { exit(); } }
