usdt:../tests/programs/usdt_fixture:start { @ = count(); }
