/* Workload for bench/run: fires one syscall tracepoint a known number of times, with no libc work in the loop.
 *   load getppid N      N getppid() calls; prints the mean nanoseconds per call
 *   load close N BASE   close(BASE + i) for i in 0..N (fds that are not open: EBADF at once), one map key each
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: load getppid N | load close N BASE\n");
    return 2;
  }
  long n = atol(argv[2]);
  long long start = now_ns();
  if (strcmp(argv[1], "getppid") == 0) {
    for (long i = 0; i < n; i++) syscall(SYS_getppid);
  } else if (strcmp(argv[1], "close") == 0 && argc == 4) {
    long base = atol(argv[3]);
    for (long i = 0; i < n; i++) syscall(SYS_close, base + i);
  } else {
    fprintf(stderr, "load: unknown mode %s\n", argv[1]);
    return 2;
  }
  printf("%.3f\n", (double)(now_ns() - start) / (double)n);
  return 0;
}
