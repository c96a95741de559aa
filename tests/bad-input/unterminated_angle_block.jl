interval:s:1 < @ = count();
