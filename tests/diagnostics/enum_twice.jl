enum color { RED, GREEN };
enum light { GREEN, AMBER };
BEGIN { print(GREEN); exit(); }
