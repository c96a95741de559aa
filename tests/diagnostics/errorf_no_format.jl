BEGIN { errorf(); }
