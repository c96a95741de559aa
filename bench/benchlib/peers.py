"""Today's peers, bpftrace and libbpf-tools from Debian's unstable suite, in a chroot that bench/run builds once
and keeps: `mmdebstrap --variant=apt sid DIR` (about 20 s), run with `chroot DIR ...` while /proc, /sys and /dev
are bind-mounted into it."""

import contextlib
import os
import shutil
import subprocess

from .measure import log
from .proc import run_command

# Where the chroot is kept between runs (bench/run --peers-dir overrides it).
DEFAULT_DIR = "/var/cache/jl-bench/sid"
PACKAGES = ("bpftrace", "libbpf-tools", "bpftool")
# The mirror's unstable Release file is a dated snapshot: without this apt refuses it as expired.
APT_OPTION = 'Acquire::Check-Valid-Until "false"'
MOUNTS = ("proc", "sys", "dev")


def ensure_chroot(directory):
    """Builds the chroot in DIRECTORY unless a complete one is there already; returns DIRECTORY."""
    if all(os.path.exists(os.path.join(directory, path)) for path in ("usr/bin/bpftrace", "usr/sbin/softirqs-libbpf")):
        return directory
    if not shutil.which("mmdebstrap"):
        raise RuntimeError("bench/run: mmdebstrap is missing (tools/setup-host installs it)")
    # Built beside its final place and renamed there when complete, so an interrupted build is never reused.
    partial = directory + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    os.makedirs(os.path.dirname(directory), exist_ok=True)
    log(f"building the peers' chroot in {directory} (mmdebstrap sid: {', '.join(PACKAGES)})")
    run_command(["mmdebstrap", "--variant=apt", f"--aptopt={APT_OPTION}", f"--include={','.join(PACKAGES)}",
                 "sid", partial], timeout=900)
    shutil.rmtree(directory, ignore_errors=True)
    os.rename(partial, directory)
    return directory


@contextlib.contextmanager
def mounted(directory):
    """/proc, /sys (with tracefs and the BPF filesystem under it) and /dev bind-mounted into the chroot for the
    `with` block; unmounted afterwards, also on errors."""
    done = []
    try:
        for name in MOUNTS:
            target = os.path.join(directory, name)
            run_command(["mount", "--rbind", f"/{name}", target])
            # Private, so that unmounting the chroot's copy does not unmount the host's own.
            run_command(["mount", "--make-rprivate", target])
            done.append(target)
        yield directory
    finally:
        for target in reversed(done):
            subprocess.run(["umount", "-R", target], check=False, capture_output=True)


def package_versions(directory):
    """{package: version} of the peers installed in the chroot."""
    text = run_command(["chroot", directory, "dpkg-query", "-W", "-f", "${Package} ${Version}\\n", *PACKAGES])
    return dict(line.split(" ", 1) for line in text.splitlines() if " " in line)
