"""Starting a tracer, watching it attach, stopping it, and timing each step."""

import os
import signal
import subprocess
import tempfile
import threading
import time

# Seconds a tracer may take to exit before it is killed (its wall then reads at least this).
KILL_AFTER = 60.0

# File descriptors that hold an attachment: aya keeps a bpf_link, bpftrace keeps the perf event it attached to.
ATTACH_FDS = ("anon_inode:bpf_link", "anon_inode:[perf_event]")
POLL_SECONDS = 0.001


class StreamReader(threading.Thread):
    """Drains one pipe, noting when a marker text first appears."""

    def __init__(self, pipe, marker, started):
        super().__init__(daemon=True)
        self.pipe, self.marker, self.started = pipe, marker, started
        self.chunks, self.marker_at = [], None

    def run(self):
        seen = b""
        for chunk in iter(lambda: os.read(self.pipe.fileno(), 65536), b""):
            self.chunks.append(chunk)
            if self.marker and self.marker_at is None:
                seen = (seen + chunk)[-4096:]
                if self.marker in seen:
                    self.marker_at = time.perf_counter() - self.started

    def text(self):
        """Everything read so far."""
        return b"".join(self.chunks).decode(errors="replace")


class AttachWatcher(threading.Thread):
    """Polls the process's fd table; the attach time is when the number of attach fds first reached its maximum."""

    def __init__(self, pid, started):
        super().__init__(daemon=True)
        self.pid, self.started = pid, started
        self.best, self.best_at = 0, None
        self.stop = threading.Event()

    def count(self):
        fd_dir = f"/proc/{self.pid}/fd"
        total = 0
        for fd in os.listdir(fd_dir):
            try:
                total += os.readlink(f"{fd_dir}/{fd}").startswith(ATTACH_FDS)
            except OSError:
                pass
        return total

    def run(self):
        while not self.stop.is_set():
            try:
                now = self.count()
            except OSError:
                if not os.path.exists(f"/proc/{self.pid}"):
                    return
                now = 0
            if now > self.best:
                self.best, self.best_at = now, time.perf_counter() - self.started
            time.sleep(POLL_SECONDS)


class Tracer:
    """One run of jl or bpftrace under /usr/bin/time (for peak RSS)."""

    def __init__(self, argv, marker, env=None):
        self.rss_file = tempfile.NamedTemporaryFile(prefix="bench-rss-", delete=False)
        self.rss_file.close()
        full_env = dict(os.environ, **(env or {}))
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            ["/usr/bin/time", "-f", "%M", "-o", self.rss_file.name, *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
        )
        self.stdout = StreamReader(self.process.stdout, marker, self.started)
        self.stderr = StreamReader(self.process.stderr, marker, self.started)
        self.stdout.start()
        self.stderr.start()
        self.watcher = AttachWatcher(self.child_pid(), self.started)
        self.watcher.start()
        self.wall = None
        self.rss_kib = None

    def child_pid(self):
        """The tracer's pid (the child of /usr/bin/time)."""
        deadline = time.perf_counter() + 5
        while time.perf_counter() < deadline:
            try:
                with open(f"/proc/{self.process.pid}/task/{self.process.pid}/children") as children:
                    pids = children.read().split()
                if pids:
                    return int(pids[0])
            except OSError:
                pass
            if self.process.poll() is not None:
                return self.process.pid
            time.sleep(0.0002)
        raise RuntimeError("tracer did not start")

    @property
    def pid(self):
        """The tracer's pid."""
        return self.watcher.pid

    def wait_marker(self, timeout=20.0):
        """Waits for the tool's own attach message; then lets it settle."""
        deadline = time.perf_counter() + timeout
        while self.stdout.marker_at is None and self.stderr.marker_at is None:
            if self.process.poll() is not None or time.perf_counter() > deadline:
                raise RuntimeError(f"tracer exited or hung before attaching:\n{self.output()}")
            time.sleep(0.002)
        # bpftrace prints its message before it compiles and attaches: wait until its attach fds stop growing.
        stable_since = time.perf_counter()
        last = self.watcher.best
        while time.perf_counter() - stable_since < 0.3:
            time.sleep(0.02)
            if self.watcher.best != last:
                last, stable_since = self.watcher.best, time.perf_counter()

    def interrupt(self):
        """Sends SIGINT to the tracer and returns the seconds until it exited (map printing and teardown)."""
        sent = time.perf_counter()
        os.kill(self.pid, signal.SIGINT)
        self.finish()
        return time.perf_counter() - sent

    def finish(self, timeout=KILL_AFTER):
        """Waits for exit; records the wall time. The wait blocks in waitpid: Popen.wait(timeout=...) polls with
        sleeps of up to 50 ms, which would add up to 50 ms to the measured wall time."""
        killer = threading.Timer(timeout, lambda: os.kill(self.pid, signal.SIGKILL))
        killer.start()
        try:
            self.process.wait()
        finally:
            killer.cancel()
        self.wall = time.perf_counter() - self.started
        self.watcher.stop.set()
        self.watcher.join()
        self.stdout.join()
        self.stderr.join()
        self.rss_kib = self.read_rss()
        return self

    def output(self):
        """stdout and stderr so far."""
        return self.stdout.text() + self.stderr.text()

    @property
    def marker_at(self):
        """Seconds from start to the tool's own attach message."""
        times = [t for t in (self.stdout.marker_at, self.stderr.marker_at) if t is not None]
        return min(times) if times else None

    @property
    def attached_at(self):
        """Seconds from start until the last attachment appeared in its fd table; the tool's own attach message
        when the watcher saw none (a run shorter than the watcher's polls on a loaded machine)."""
        return self.watcher.best_at if self.watcher.best_at is not None else self.marker_at

    def read_rss(self):
        """Peak RSS in KiB from /usr/bin/time's file, which is then removed."""
        try:
            with open(self.rss_file.name) as text:
                return int(text.read().split()[-1])
        except (OSError, ValueError, IndexError):
            return None
        finally:
            if os.path.exists(self.rss_file.name):
                os.unlink(self.rss_file.name)

def run_command(argv, timeout=120, check=True):
    """Runs a helper command; returns its stdout, raising with its output on failure (unless not CHECK)."""
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout
