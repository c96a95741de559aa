timer() { outlier(-1); }
