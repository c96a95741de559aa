profile:hz:99 { @[ksym(reg("ip"))] = count(); }
