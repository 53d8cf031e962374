"""The MLLP listener as its own process (`manage.py mllp_listener`) against the test database, and a client that
talks to it as an interface engine does: one frame, then wait for its ACK."""

import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
VT, FS_CR = b"\x0b", b"\x1c\r"


class Listener:
    def __init__(self, **env: str) -> None:
        db = connection.settings_dict
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "CARE_FACILITIES": "GENERAL=General Hospital,STMARY=St Mary Medical Center",
            **env,
        }
        self.port = 0
        self.log_path = Path(tempfile.mkdtemp(prefix="sequora-mllp-")) / "listener.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> "Listener":
        # The same port after a restart, as the engine's connection is configured with one.
        self.process = subprocess.Popen(  # noqa: S603 - our own command
            [sys.executable, "manage.py", "mllp_listener", "--port", str(self.port)],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=open(self.log_path, "ab"),  # noqa: SIM115 - the child's, for as long as it runs
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode()
        match = re.search(r"listening on [\d.]+:(\d+)", line)
        assert match, f"the listener did not start: {line!r}"
        self.port = int(match.group(1))
        return self

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Engine:
    """An interface engine's sending side: it resends a message until it gets the message's ACK."""

    def __init__(self, port: int, *, timeout: float = 30, tls: ssl.SSLContext | None = None) -> None:
        self.port, self.timeout, self.tls = port, timeout, tls
        self.sock: socket.socket | None = None
        self.buffer = b""

    def connect(self) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname="localhost") if self.tls else sock
        self.buffer = b""

    def close(self) -> None:
        if self.sock:
            self.sock.close()
        self.sock = None

    def send_raw(self, data: bytes) -> None:
        if self.sock is None:
            self.connect()
        assert self.sock is not None
        self.sock.sendall(data)

    def read_ack(self) -> str:
        assert self.sock is not None
        while FS_CR not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buffer += chunk
        frame, _, self.buffer = self.buffer.partition(FS_CR)
        return frame[frame.index(VT) + 1 :].decode("ascii")

    def send(self, message: bytes) -> str:
        self.send_raw(VT + message + FS_CR)
        return self.read_ack()

    def send_until_acked(self, message: bytes, *, deadline: float = 60) -> tuple[str, int]:
        """(the ACK, how many times it was sent): a broken connection is reopened and the message sent again."""
        give_up, tries = time.monotonic() + deadline, 0
        while True:
            tries += 1
            try:
                return self.send(message), tries
            except OSError:
                self.close()
                if time.monotonic() > give_up:
                    raise
                time.sleep(0.2)
