bench:count { @ = count(); }
bench:count { @b = count(); }
