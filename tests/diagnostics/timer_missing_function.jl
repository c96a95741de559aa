timer("estimation_timer") < hist(dur) >
