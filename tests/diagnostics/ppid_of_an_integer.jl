// ppid(task) takes a task pointer, not an integer
BEGIN { @a = ppid(1); }
