usdt:../tests/programs/usdt_fixture:app:mixed { @ = *uaddr("app_counter"); }
