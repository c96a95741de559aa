"""Installed footprint: a binary plus every shared library ldd says it loads."""

import os
import re
import shutil

from .proc import run_command

# Where a binary named without a path is looked for, inside the root it runs in.
SEARCH = ("usr/local/bin", "usr/bin", "bin", "usr/sbin", "sbin")


def shared_libraries(binary, root):
    """Paths (inside ROOT) of the libraries ldd lists for BINARY, run inside ROOT."""
    prefix = [] if root == "/" else ["chroot", root]
    paths = set()
    for line in run_command([*prefix, "ldd", binary]).splitlines():
        match = re.search(r"(/\S+)\s+\(0x", line)
        if match:
            paths.add(resolve(match.group(1), root))
    return sorted(paths)


def resolve(path, root):
    """PATH inside ROOT as a host path, symlinks resolved inside ROOT."""
    if root == "/":
        return os.path.realpath(path)
    host = os.path.join(root, path.lstrip("/"))
    for _ in range(40):
        if not os.path.islink(host):
            return host
        target = os.readlink(host)
        inside = target if target.startswith("/") else os.path.join(os.path.dirname(host[len(root.rstrip("/")):]),
                                                                    target)
        host = os.path.join(root, os.path.normpath(inside).lstrip("/"))
    return host


def footprint(binary, root="/"):
    """(binary bytes, library bytes, library count) of BINARY in ROOT, with symlinks resolved."""
    path = shutil.which(binary, path=os.pathsep.join(os.path.join(root, d) for d in SEARCH)) or binary
    if root != "/":
        path = path[len(root.rstrip("/")):]
    libraries = shared_libraries(path, root)
    host = resolve(path, root)
    return os.path.getsize(host), sum(os.path.getsize(lib) for lib in libraries), len(libraries)
