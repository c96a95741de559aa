// pid() takes a pid namespace: curr_ns or init
BEGIN { @ = pid(host); }
