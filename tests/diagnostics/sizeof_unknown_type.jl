BEGIN { @[sizeof(float)] = count(); }
