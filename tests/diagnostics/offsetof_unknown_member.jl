BEGIN { print(offsetof(struct task_struct, pidd)); }
