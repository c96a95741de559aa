/* The checked-in ELF tests/programs/usdt_fixture, whose USDT probes golden and diagnostic tests compile against
 * (a binary built at test time would change with the compiler). Never run: its probes cover the operand forms,
 * a probe with two sites, one whose argument is a global (RIP-relative: jl refuses it) and one name that two
 * providers share. Rebuild (only if the tests' needs change, and re-bless them) with:
 *   gcc -O1 -static -nostdlib -fno-asynchronous-unwind-tables -Wl,--build-id=none -Wl,-n -s \
 *       -o tests/programs/usdt_fixture tests/programs/usdt_fixture.c */
#include <sys/sdt.h>

int counter;

__attribute__((noinline)) long fixture(long i, short s, unsigned char byte, const char *text)
{
    volatile long on_stack = i * 3;
    if (i > 2)
        DTRACE_PROBE4(app, request, i, s, text, on_stack);
    else
        DTRACE_PROBE4(app, request, i, s, text, on_stack);
    DTRACE_PROBE3(app, mixed, byte, -5, on_stack);
    DTRACE_PROBE1(app, global, counter);
    DTRACE_PROBE(app, start);
    DTRACE_PROBE(lib, start);
    return on_stack;
}

void _start(void)
{
    fixture(1, -2, 3, "x");
    for (;;)
        ;
}
