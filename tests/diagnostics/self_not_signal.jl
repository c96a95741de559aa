// self probes have one event, signal
self:timer:SIGUSR1 { exit(); }
