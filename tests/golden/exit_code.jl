interval:ms:10 { @ticks = count(); if (@ticks > 2) { exit(@ticks + 1); } }
