{ @ = count(); }
