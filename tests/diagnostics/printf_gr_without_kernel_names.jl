// printf %gr names GFP flags with the kernel's own table (kmem:kmalloc's print format): the fixture kernel has none.
begin { printf("flags: %gr\n", 0xcc0); }
