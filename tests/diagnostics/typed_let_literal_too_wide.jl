BEGIN { let $small: uint8 = 300; print($small); }
