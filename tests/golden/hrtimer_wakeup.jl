hrtimer("hrtimer_wakeup") { @ = hist(dur); }
