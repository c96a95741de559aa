BEGIN { @ = hist(1, pid); }
