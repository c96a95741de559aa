BEGIN { @m[(a=1, b=2)] = count(); }
