uretprobe:libjl-no-such-library:f { @ = count(); }
