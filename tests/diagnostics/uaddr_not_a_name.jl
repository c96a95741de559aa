uprobe:/proc/self/exe:main { @ = *uaddr(arg0); }
