BEGIN { $t = typeof(comm); }
