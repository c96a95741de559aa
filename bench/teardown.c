/* The kernel's own cost of detaching a program from a tracepoint, for bench/run: the floor under any tool's
 * start-to-exit time, since both jl and bpftrace detach before they print and exit.
 *   teardown TRACEPOINT_ID ROUNDS
 * Each round loads `r0 = 0; exit` as a tracepoint program, opens a perf event on the tracepoint, links the two
 * (BPF_LINK_CREATE), then times close() of the link while the perf event is still open (the program is detached:
 * the kernel waits for a tasks-trace RCU grace period) and close() of the perf event (the tracepoint probe is
 * unregistered: it waits for RCU again). Prints the median milliseconds of each, "LINK PERF", on one line.
 */
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int bpf(int cmd, union bpf_attr *attr) { return (int)syscall(__NR_bpf, cmd, attr, sizeof *attr); }

static int fail(const char *what) {
  perror(what);
  exit(1);
}

/* Loads the empty tracepoint program, attaches it to tracepoint `id`, and returns the two descriptors. */
static void attach(int id, int *link, int *perf) {
  struct bpf_insn insns[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0},
      {.code = BPF_JMP | BPF_EXIT},
  };
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_TRACEPOINT;
  attr.insns = (unsigned long)insns;
  attr.insn_cnt = 2;
  attr.license = (unsigned long)"GPL";
  int prog = bpf(BPF_PROG_LOAD, &attr);
  if (prog < 0) fail("teardown: BPF_PROG_LOAD");
  struct perf_event_attr event;
  memset(&event, 0, sizeof event);
  event.type = PERF_TYPE_TRACEPOINT;
  event.size = sizeof event;
  event.config = id;
  *perf = (int)syscall(__NR_perf_event_open, &event, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
  if (*perf < 0) fail("teardown: perf_event_open");
  memset(&attr, 0, sizeof attr);
  attr.link_create.prog_fd = prog;
  attr.link_create.target_fd = *perf;
  attr.link_create.attach_type = BPF_PERF_EVENT;
  *link = bpf(BPF_LINK_CREATE, &attr);
  if (*link < 0) fail("teardown: BPF_LINK_CREATE");
  close(prog); /* the link holds the program */
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *values, int n) {
  qsort(values, n, sizeof *values, by_value);
  return values[n / 2];
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: teardown TRACEPOINT_ID ROUNDS\n");
    return 2;
  }
  int id = atoi(argv[1]), rounds = atoi(argv[2]);
  if (rounds < 1 || rounds > 100) {
    fprintf(stderr, "teardown: ROUNDS must be 1-100\n");
    return 2;
  }
  double link_ms[100], perf_ms[100];
  for (int round = 0; round < rounds; round++) {
    int link, perf;
    attach(id, &link, &perf);
    double start = now_ms();
    close(link);
    double detached = now_ms();
    close(perf);
    link_ms[round] = detached - start;
    perf_ms[round] = now_ms() - detached;
  }
  printf("%.1f %.1f\n", median(link_ms, rounds), median(perf_ms, rounds));
  return 0;
}
