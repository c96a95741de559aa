/* A process with USDT probes the usdt tests know: for each line read on stdin, for i in 1..=COUNT (its
 * argument), it fires jl:tick(i, -i, line) from two sites (one per branch of `i % 2`), jl:wide(a long, a
 * negative short, a constant, a byte) and, when its semaphore is set, jl:guarded(i); then it prints "done",
 * a running total and jl:guarded's semaphore. It prints its pid first and exits at the end of stdin.
 *
 * Built by the tests with: cc -O1 -o usdt_target usdt_target.c (needs <sys/sdt.h>, systemtap-sdt-dev) */
#define _SDT_HAS_SEMAPHORES 1
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sdt.h>
#include <unistd.h>

/* With _SDT_HAS_SEMAPHORES every probe of the file has a semaphore; only jl:guarded's is tested. */
unsigned short jl_tick_semaphore __attribute__((section(".probes")));
unsigned short jl_wide_semaphore __attribute__((section(".probes")));
unsigned short jl_guarded_semaphore __attribute__((section(".probes")));

__attribute__((noinline)) static long work(long i, const char *line)
{
    volatile long big = 5000000000L * i;
    short negative = (short)(-7 * i);
    unsigned char byte = (unsigned char)(200 + i);
    if (i % 2)
        DTRACE_PROBE3(jl, tick, i, -i, line);
    else
        DTRACE_PROBE3(jl, tick, i, -i, line);
    DTRACE_PROBE4(jl, wide, big, negative, 42, byte);
    if (jl_guarded_semaphore)
        DTRACE_PROBE1(jl, guarded, i);
    return big + negative + byte;
}

int main(int argc, char **argv)
{
    int count = argc > 1 ? atoi(argv[1]) : 1;
    char line[64];
    long total = 0;
    printf("%d\n", (int)getpid());
    fflush(stdout);
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = 0;
        for (long i = 1; i <= count; i++)
            total += work(i, line);
        printf("done %ld %u\n", total, (unsigned)jl_guarded_semaphore);
        fflush(stdout);
    }
    return 0;
}
