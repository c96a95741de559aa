profile:hz:99 { @ = reg("rip"); }
