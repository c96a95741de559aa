// A C struct the script defines, laid out as C does on x86-64 (u16 at 16, the embedded struct at 20, its
// int array at 24), read through a cast like a kernel struct.
struct inner { char tag; int v[2]; }
struct foo { unsigned long a; char *p; u16 s; struct inner in; char name[8]; struct foo *next; }
tracepoint:sched:sched_switch { $f = (struct foo *)curtask; @[$f->s, $f->in.v[1], $f->next->a] = count(); }
