struct outer { int n; struct later l; }
struct later { int x; }
BEGIN { exit(); }
