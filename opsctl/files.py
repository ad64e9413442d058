"""Reading the local files opsctl is pointed at (topology, audit log) without trusting the path.

A path may name a FIFO (open would block until a writer comes), a device such as /dev/zero (read
would never end) or a huge file: only regular files are read, opened without blocking, and never
more than a stated size.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from opsctl.errors import OpsctlError


def open_regular(path: Path, flags: int, what: str, mode: int = 0o600) -> int:
    """os.open(path, flags), refusing anything but a regular file: a FIFO or device is refused
    with OSError (ENXIO-like), before a byte is read or written. Returns the descriptor."""
    try:
        found = os.stat(path)
    except FileNotFoundError:
        found = None  # O_CREAT may create it
    if found is not None and not (stat.S_ISREG(found.st_mode) or stat.S_ISDIR(found.st_mode)):
        # Checked before opening: opening a FIFO for writing fails (ENXIO) or blocks.
        raise OSError(errno.EINVAL, f"not a regular file (the {what} must be a file)")
    fd = os.open(path, flags | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0), mode)
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, f"not a regular file (the {what} must be a file)")
        os.set_blocking(fd, True)
        return fd
    except BaseException:
        os.close(fd)
        raise


def read_regular_file(
    path: Path, *, what: str, max_bytes: int, error: type[OpsctlError] = OpsctlError
) -> str:
    """The UTF-8 text of a regular file of at most `max_bytes`; any other outcome is `error`
    with one line naming `what` and the path."""
    try:
        fd = open_regular(path, os.O_RDONLY, what)
        try:
            chunks: list[bytes] = []
            size = 0
            while size <= max_bytes:
                chunk = os.read(fd, min(1 << 20, max_bytes + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        finally:
            os.close(fd)
    except OSError as failure:
        raise error(f"cannot read {what} {path}: {failure.strerror}") from None
    if size > max_bytes:
        raise error(f"{what} {path} is larger than {max_bytes // (1 << 20)} MiB")
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"{what} {path} is not UTF-8 text") from None
