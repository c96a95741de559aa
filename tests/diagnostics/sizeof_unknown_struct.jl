BEGIN { @[sizeof(struct no_such_thing)] = count(); }
