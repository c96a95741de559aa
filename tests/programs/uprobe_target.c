/* A process whose functions the uprobe tests know: for each line read on stdin it calls jl_add(i, 10 * i) and
 * jl_greet(line) for i in 1..=COUNT (its argument), then prints "done"; it prints its pid first and exits at the
 * end of stdin. jl_add returns its arguments' sum, jl_greet the length of its string. Its variables jl_wide (8
 * bytes), jl_narrow (2) and jl_label (a 6-byte array) hold known values for uaddr().
 *
 * Built by the tests with: cc -O0 -o uprobe_target uprobe_target.c (and with -s for a stripped copy) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

long jl_wide = 0x5566778899;
short jl_narrow = 0x3333;
char jl_label[6] = "label";

__attribute__((noinline)) long jl_add(long a, long b)
{
    return a + b;
}

__attribute__((noinline)) static long jl_greet(const char *name)
{
    return (long)strlen(name);
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
        for (int i = 1; i <= count; i++) {
            total += jl_add(i, 10 * i);
            total += jl_greet(line);
        }
        printf("done %ld\n", total);
        fflush(stdout);
    }
    return 0;
}
