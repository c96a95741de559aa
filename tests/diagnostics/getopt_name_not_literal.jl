BEGIN { $name = "n"; @ = getopt($name, 1); }
