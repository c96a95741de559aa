macro f(x) { g(x) }
macro g(x) { f(x) + 1 }
BEGIN { print(f(1)); exit(); }
