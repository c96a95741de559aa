config = { print_maps_on_exit = sometimes } BEGIN { exit(); }
