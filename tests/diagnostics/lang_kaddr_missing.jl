BEGIN { @a = kaddr("no_such_symbol_anywhere"); }
