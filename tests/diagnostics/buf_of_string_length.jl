BEGIN { @[buf(comm, 5)] = count(); }
