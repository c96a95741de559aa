/* A process whose user stack the ustack tests know: main -> jl_outer_frame -> jl_inner_frame, which makes the
 * getppid system calls itself (no libc wrapper in between, so the innermost frame is the function), built with
 * frame pointers so the kernel can walk the stack. It prints its pid, then for each line read on stdin makes
 * COUNT (its argument) getppid calls and prints "done"; it exits at the end of stdin.
 *
 * Built by the tests with: gcc -O0 -fno-omit-frame-pointer -o ustack_target ustack_target.c */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

__attribute__((noinline)) void jl_inner_frame(int count)
{
    for (int i = 0; i < count; i++) {
#if defined(__x86_64__)
        long ret;
        __asm__ volatile("syscall" : "=a"(ret) : "a"((long)SYS_getppid) : "rcx", "r11", "memory");
#elif defined(__aarch64__)
        register long number __asm__("x8") = SYS_getppid;
        register long ret __asm__("x0");
        __asm__ volatile("svc #0" : "=r"(ret) : "r"(number) : "memory");
#else
        syscall(SYS_getppid);
#endif
    }
}

__attribute__((noinline)) void jl_outer_frame(int count)
{
    jl_inner_frame(count);
}

int main(int argc, char **argv)
{
    int count = argc > 1 ? atoi(argv[1]) : 100;
    char line[64];
    printf("%d\n", (int)getpid());
    fflush(stdout);
    while (fgets(line, sizeof line, stdin)) {
        jl_outer_frame(count);
        printf("done\n");
        fflush(stdout);
    }
    return 0;
}
