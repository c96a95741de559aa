// Macros calling macros nest at most 16 deep.
macro m0(x) { m1(x) + 1 }
macro m1(x) { m2(x) + 1 }
macro m2(x) { m3(x) + 1 }
macro m3(x) { m4(x) + 1 }
macro m4(x) { m5(x) + 1 }
macro m5(x) { m6(x) + 1 }
macro m6(x) { m7(x) + 1 }
macro m7(x) { m8(x) + 1 }
macro m8(x) { m9(x) + 1 }
macro m9(x) { m10(x) + 1 }
macro m10(x) { m11(x) + 1 }
macro m11(x) { m12(x) + 1 }
macro m12(x) { m13(x) + 1 }
macro m13(x) { m14(x) + 1 }
macro m14(x) { m15(x) + 1 }
macro m15(x) { m16(x) + 1 }
macro m16(x) { m17(x) + 1 }
macro m17(x) { x }
BEGIN { print(m0(1)); exit(); }
