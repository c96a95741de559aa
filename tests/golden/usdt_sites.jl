// usdt: a probe with two sites is one program per site; only the arguments the block reads are read
// (`-2@%si`, sign-extended).
usdt:../tests/programs/usdt_fixture:app:request { @ = sum(arg1); }
