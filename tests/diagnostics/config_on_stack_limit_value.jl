config = { on_stack_limit = big }
BEGIN { exit(); }
