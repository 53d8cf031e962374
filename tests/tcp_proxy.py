"""A TCP proxy a test can cut: every connection through it is closed at once, as a PostgreSQL restart closes its
clients' connections, while the server behind it (the machine's shared PostgreSQL) keeps running for everyone else.
"""

import contextlib
import socket
import threading


class TcpProxy:
    """Listens on 127.0.0.1:`port` (a free one), or on the `listener` given (one made in another network namespace:
    tests/netns.py), and forwards each connection to `upstream`."""

    def __init__(self, upstream: tuple[str, int], *, listener: socket.socket | None = None) -> None:
        self.upstream = upstream
        self.listener = listener or socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = 0  # connections made through the proxy, ever
        self._open: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # closed
                return
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                self.accepted += 1
                self._open.append((client, server))
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        for end in (source, target):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """Close every connection through the proxy (both ends); new ones are still accepted."""
        with self._lock:
            pairs, self._open = self._open, []
        for pair in pairs:
            for end in pair:
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()

    def close(self) -> None:
        self.cut()
        self.listener.close()
