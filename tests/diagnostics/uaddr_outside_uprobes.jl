BEGIN { @ = *uaddr("jiffies"); }
