timer(1, 2, 3) { @ = count(); }
