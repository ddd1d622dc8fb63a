"""A TCP proxy on loopback between CIS and PostgreSQL, which the checks can break on purpose.

- `forward()`: passes bytes both ways (how it starts);
- `silence()`: the database goes quiet: connections are still accepted and kept, but nothing
  is passed on in either direction (a hung server, a dropped route, a full firewall table);
- `stop()`: the database is gone: new connections are refused and open ones are reset (a
  stopped or crashed server), without touching the real PostgreSQL, which others share.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading

FORWARD, SILENT, STOPPED = "forward", "silent", "stopped"


class TcpProxy:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.mode = FORWARD
        self._lock = threading.Lock()
        self._connections: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._closed = False
        self.port = self._listen(0)

    # Control.

    def forward(self) -> None:
        with self._lock:
            self.mode = FORWARD
        if self._listener is None:
            self._listen(self.port)

    def silence(self) -> None:
        with self._lock:
            self.mode = SILENT

    def stop(self) -> None:
        with self._lock:
            self.mode = STOPPED
            listener, self._listener = self._listener, None
            doomed, self._connections = self._connections, []
        if listener is not None:
            listener.close()
        for conn in doomed:
            _reset(conn)

    def close(self) -> None:
        self._closed = True
        self.stop()

    # Plumbing.

    def _listen(self, port: int) -> int:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return int(listener.getsockname()[1])

    def _accept(self, listener: socket.socket) -> None:
        while not self._closed:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed: stopped
            with self._lock:
                mode = self.mode
            if mode == STOPPED:
                _reset(client)
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self._connections += [client, server]
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        try:
            while True:
                readable, _, _ = select.select([a, b], [], [], 0.5)
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        return
                    with self._lock:
                        mode = self.mode
                    if mode == FORWARD:
                        peers[source].sendall(data)
                    # silent: swallowed; stopped: the sockets are reset by stop()
        except OSError:
            return
        finally:
            for conn in (a, b):
                with contextlib.suppress(OSError):
                    conn.close()


def _reset(conn: socket.socket) -> None:
    """Close with RST, as a crashed peer's kernel would answer."""
    with contextlib.suppress(OSError):
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        conn.close()
