timer("process_timeout") { @ = hist(late); }
