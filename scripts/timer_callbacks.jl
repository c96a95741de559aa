// timer_callbacks.jl: which timer callbacks run, how often, and for how long.
//
// Answers: "is one timer callback hogging TIMER softirq?" (the funcgraph estimation_timer step, for every
// callback at once). Read the output bottom-up: the last rows of @total_time are the callbacks that spent the
// most time (printed with units); @runs says how often each ran; @durations is one histogram of the run time of
// every callback (all callbacks together), so a callback running for milliseconds shows up as a bucket far to the
// right.
//
// Usage: jl scripts/timer_callbacks.jl --duration 10      (or Ctrl-C to stop)

timer() {
  @runs[func] = count();
  @total_time[func] = sum(dur);
  @durations = hist(dur);
}
