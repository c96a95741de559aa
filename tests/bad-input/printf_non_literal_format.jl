BEGIN { printf(comm); }
