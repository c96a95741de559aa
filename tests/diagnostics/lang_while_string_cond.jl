BEGIN { while (comm) { @x = 1; } }
