BEGIN { @a = (int8[3])"hello"; }
