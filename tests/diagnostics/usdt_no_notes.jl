usdt:/proc/self/exe:app:request { @ = count(); }
