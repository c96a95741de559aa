// Names from a fixed table as integers: a literal compared as its index, two names of one table compared as
// indices; the text is built only for a variable.
softirq() /name != "rcu"/ { @[name] = count(); $s = name; @text[$s] = count(); }
skb() /hop == "kfree_skb" || hop == prev/ { @hops[prev, hop] = count(); }
