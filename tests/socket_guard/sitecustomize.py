"""Refuses outbound network connections in every Python process that starts with this folder
on PYTHONPATH (the test process's subprocesses and Ray workers included).

Loopback and Unix sockets stay allowed; every refused attempt is appended to the file named
by HYBRID_SOCKET_GUARD_LOG so the test can assert there were none.
"""

import ipaddress
import os
import socket

_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex


def _allowed(sock: socket.socket, address) -> bool:
    if sock.family == getattr(socket, "AF_UNIX", None):
        return True
    host = address[0] if isinstance(address, tuple) else address
    if host in {"localhost", ""}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _record(address) -> None:
    log = os.environ.get("HYBRID_SOCKET_GUARD_LOG")
    if log:
        import traceback

        callers = " <- ".join(
            f"{frame.filename.rsplit('site-packages/', 1)[-1]}:{frame.lineno}"
            for frame in reversed(traceback.extract_stack()[-24:-3])
        )
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()} {address!r} {callers}\n")


def _guarded_connect(self, address):
    if not _allowed(self, address):
        _record(address)
        raise OSError(f"socket guard: outbound connection to {address!r} refused")
    return _original_connect(self, address)


def _guarded_connect_ex(self, address):
    if not _allowed(self, address):
        _record(address)
        return 111
    return _original_connect_ex(self, address)


socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect_ex
