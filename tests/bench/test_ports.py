"""Whose listener answers on a port: a server that lost its port to another process must not be
taken as ready because the other one answered."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from bench.ports import free_port, listened_by


def test_a_listener_is_its_own_process_and_no_other() -> None:
    with socket.socket() as ours:
        ours.bind(("127.0.0.1", 0))
        ours.listen()
        port = ours.getsockname()[1]
        assert listened_by(os.getpid(), port)
        other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            assert not listened_by(other.pid, port)
        finally:
            other.kill()
            other.wait()


def test_a_bound_but_not_listening_port_is_nobodys() -> None:
    port = free_port()
    assert not listened_by(os.getpid(), port)
