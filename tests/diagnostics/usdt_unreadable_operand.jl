usdt:../tests/programs/usdt_fixture:app:global { @ = count(); }
