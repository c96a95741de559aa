// usdt: each argument read as its site's operand says into a stack slot, extended from its size and sign: a
// byte register (`1@%dl`, zero-extended), a constant (`-4@$-5`) and memory at a register plus a displacement
// (`-8@-8(%rsp)`, through bpf_probe_read_user). tests/programs/usdt_fixture.c is the fixture's source.
usdt:../tests/programs/usdt_fixture:app:mixed { @[arg0, arg1, arg2] = count(); }
