config = { license = "Potato" } BEGIN { exit(); }
