BEGIN { @a = (bool[2])(uint16)1; $b = (int8[])"hi"; @c = $b[1]; $i = 1; @d = ((int16[2])1234567)[$i]; @e = (uint32)(uint8[4])(uint32)7; }
