uprobe:/proc/self/exe:mian { @ = count(); }
