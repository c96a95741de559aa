interval:ms:100 { @ticks = count(); }
END { printf("done\n"); }
