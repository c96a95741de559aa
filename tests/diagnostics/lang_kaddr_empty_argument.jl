// kaddr(str($1)) with no $1 given: the name is empty
BEGIN { @a = kaddr(str($1)); }
