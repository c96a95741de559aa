// uretprobe: `retval` is the return register (ax) of the saved registers.
uretprobe:/proc/self/exe:main { @ = hist(retval); }
