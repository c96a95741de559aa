tracepoint:irq:softirq_entry {
  $v = args.vec;
  if ($v == 3) { @net = count(); } else if ($v > 6) { @late = count(); } else { @other[$v * 2 + 1] = count(); }
}
