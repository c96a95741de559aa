// A string kept in a plain map and printed later: copied word by word from the map value (zeros when absent).
softirq() { @last_name = name; }
interval:s:1 { printf("last softirq: %s\n", @last_name); }
