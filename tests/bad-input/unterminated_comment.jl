BEGIN { /* never closed
 exit(); }
