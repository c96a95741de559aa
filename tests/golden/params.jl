// Script parameters: the defaults are compiled in as constants (`jl --arg threshold=20ms` changes them).
param $threshold = 5ms
param $cpu = -1
param $label = "slow"
param $func = "process_timeout"
timer($func) /$cpu < 0 || cpu == $cpu/ {
  if (dur > $threshold) { @[str($label)] = count(); }
}
