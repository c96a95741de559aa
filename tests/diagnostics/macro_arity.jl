macro add(a, b) { a + b }
BEGIN { print(add(1)); exit(); }
