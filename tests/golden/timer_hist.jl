timer("delayed_work_timer_fn") < hist(dur) >
