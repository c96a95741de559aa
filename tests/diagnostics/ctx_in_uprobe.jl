// a uprobe reads the process memory through pointers: its ctx (kernel memory) is refused
uprobe:/proc/self/exe:main { @ = *(uint64 *)ctx; }
