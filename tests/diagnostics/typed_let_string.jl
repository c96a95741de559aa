BEGIN { let $name: typeof("abc"); $name = "x"; }
