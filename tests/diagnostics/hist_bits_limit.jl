BEGIN { @ = hist(1, 6); }
