BEGIN { @a = ((int8[4])(uint32)1)[4]; }
