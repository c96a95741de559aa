profile:hz:99 { $r = "ip"; @ = reg($r); }
