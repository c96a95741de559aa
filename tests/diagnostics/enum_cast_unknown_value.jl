enum Foo { ONE = 1, TWO = 2 }; BEGIN { print((enum Foo)7); }
