interval:s:1 { print(@nothing); }
