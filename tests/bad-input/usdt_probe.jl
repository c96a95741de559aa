usdt:/bin/bash:bash:readline { @ = count(); }
