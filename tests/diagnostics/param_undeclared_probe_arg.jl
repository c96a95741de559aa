// A typed probe's argument may be a declared parameter; this one is not declared.
timer($func) { @ = hist(dur); }
