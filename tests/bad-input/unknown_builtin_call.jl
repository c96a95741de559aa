BEGIN { frobnicate(); }
