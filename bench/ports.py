"""Ports for the servers the bench and the tests start on this machine.

`free_port` asks the kernel for a port nobody holds *now*; another process (an xdist worker, a
second server of the same run) may take it before ours binds it, and then a readiness probe on that
port is answered by the wrong server. `listened_by` tells whose it is, from /proc (Linux)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

_LISTEN = "0A"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listened_by(pid: int, port: int) -> bool:
    """Whether process `pid` holds the socket listening on TCP `port` (IPv4 or IPv6)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == _LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                return True
        except OSError:  # closed since the listing
            continue
    return False
