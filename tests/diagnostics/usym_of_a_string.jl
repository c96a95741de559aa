uprobe:/proc/self/exe:main { @[usym("main")] = count(); }
