BEGIN:foo { exit(); }
