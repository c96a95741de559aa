BEGIN { $x = ; }
