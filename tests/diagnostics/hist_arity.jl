BEGIN { @ = hist(1, 2, 3); }
