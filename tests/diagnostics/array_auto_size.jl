BEGIN { @a = (int16[])"abcd"; }
