usdt:../tests/programs/usdt_fixture:app:reqest { @ = count(); }
