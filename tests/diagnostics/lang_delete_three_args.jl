BEGIN { @s[1] = 1; }
END { delete(@s, 1, 2); }
