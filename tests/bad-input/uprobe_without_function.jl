uprobe:/bin/bash { @ = count(); }
