/* Workload for bench/run: fires one syscall tracepoint a known number of times, with no libc work in the loop.
 *   load getppid N      N getppid() calls; prints the mean nanoseconds per call
 *   load close N BASE   close(BASE + i) for i in 0..N (fds that are not open: EBADF at once), one map key each
 *   load udp N RATE IP  N 64-byte UDP datagrams to IP port 9 at RATE per second (0: as fast as it can); prints the
 *                       achieved packets per second
 *   load direct N FILE  N 4 KiB reads of FILE with O_DIRECT, block after block, wrapping at its end: each one a
 *                       block request whose completion raises the disk's interrupt; prints the achieved reads per
 *                       second
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Sends n datagrams to ip:9, paced in batches of 64 to `rate` per second; returns the achieved rate. */
static double send_udp(long n, long rate, const char *ip) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9)};
  /* Not connected: nothing listens at the other end, and a connected socket would report the ICMP port
   * unreachable replies as ECONNREFUSED. */
  if (fd < 0 || inet_pton(AF_INET, ip, &to.sin_addr) != 1) {
    perror("load udp");
    exit(1);
  }
  char payload[64] = {0};
  long long start = now_ns();
  for (long i = 0; i < n; i++) {
    if (sendto(fd, payload, sizeof payload, 0, (struct sockaddr *)&to, sizeof to) < 0) {
      perror("load udp: send");
      exit(1);
    }
    if (rate > 0 && i % 64 == 63) {
      long long due = start + (long long)((double)(i + 1) * 1e9 / (double)rate);
      long long wait = due - now_ns();
      if (wait > 0) {
        struct timespec pause = {wait / 1000000000LL, wait % 1000000000LL};
        nanosleep(&pause, NULL);
      }
    }
  }
  long long spent = now_ns() - start;
  close(fd);
  return (double)n * 1e9 / (double)spent;
}

/* Reads FILE n times, 4 KiB at a time with O_DIRECT (past the page cache), wrapping at its end; returns the
 * achieved reads per second. */
static double read_direct(long n, const char *file) {
  enum { BLOCK = 4096 };
  int fd = open(file, O_RDONLY | O_DIRECT);
  void *buffer = NULL;
  off_t size = fd < 0 ? -1 : lseek(fd, 0, SEEK_END);
  if (size < BLOCK || posix_memalign(&buffer, BLOCK, BLOCK) != 0) {
    perror("load direct");
    exit(1);
  }
  long blocks = size / BLOCK;
  long long start = now_ns();
  for (long i = 0; i < n; i++) {
    if (pread(fd, buffer, BLOCK, (off_t)(i % blocks) * BLOCK) != BLOCK) {
      perror("load direct: read");
      exit(1);
    }
  }
  long long spent = now_ns() - start;
  close(fd);
  free(buffer);
  return (double)n * 1e9 / (double)spent;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: load getppid N | load close N BASE | load udp N RATE IP | load direct N FILE\n");
    return 2;
  }
  long n = atol(argv[2]);
  if (strcmp(argv[1], "udp") == 0 && argc == 5) {
    printf("%.0f\n", send_udp(n, atol(argv[3]), argv[4]));
    return 0;
  }
  if (strcmp(argv[1], "direct") == 0 && argc == 4) {
    printf("%.0f\n", read_direct(n, argv[3]));
    return 0;
  }
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
