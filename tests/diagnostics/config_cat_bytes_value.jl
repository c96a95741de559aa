config = { max_cat_bytes = all; unstable_macro = 1 }
BEGIN { exit(); }
