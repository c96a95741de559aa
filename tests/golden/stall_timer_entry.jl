// stall(): a context companion. Pinned: timer_expire_entry (charge the innermost context, name a task
// culprit that takes a slot, read the callback at its BTF offset, push it).
// show: raw_tracepoint/timer_expire_entry
stall() { @ = count(); }
