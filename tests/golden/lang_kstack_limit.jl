// kstack(3): ids from a stack-trace map of 3-frame stacks (jl_stacks_3); stacks that differ only below frame 3 share one.
profile:hz:99 { @[kstack(3)] = count(); }
