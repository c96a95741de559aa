uprobe:/proc/self/exe:main { @[usym()] = count(); }
