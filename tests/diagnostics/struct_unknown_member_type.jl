struct sample { double value; }
BEGIN { exit(); }
