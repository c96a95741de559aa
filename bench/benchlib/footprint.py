"""Installed footprint: a binary plus every shared library ldd says it loads."""

import os
import re
import shutil

from .proc import run_command


def shared_libraries(binary):
    """Resolved paths of the libraries ldd lists for BINARY."""
    paths = set()
    for line in run_command(["ldd", binary]).splitlines():
        match = re.search(r"(/\S+)\s+\(0x", line)
        if match:
            paths.add(os.path.realpath(match.group(1)))
    return sorted(paths)


def footprint(binary):
    """(binary bytes, library bytes, library count) with symlinks resolved."""
    path = os.path.realpath(shutil.which(binary) or binary)
    libraries = shared_libraries(path)
    return os.path.getsize(path), sum(os.path.getsize(lib) for lib in libraries), len(libraries)
