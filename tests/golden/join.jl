// join(): one ring-buffer record for the whole line, filled in a loop (bpftrace 0.27.1's join on execve's argv:
// 194 insns, unrolled); in a uprobe every read takes the user helpers.
uprobe:/proc/self/exe:main { join(arg1, ","); }
