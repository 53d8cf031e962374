"""The interaction agent's webhook endpoint, as a real local HTTP server: it records every request, answers the
status it is told to (503 while "down"), and counts the deliveries it accepted by webhook-id, as a receiver that
dedupes would. The verification is the one docs/webhooks.md gives the agent's developers, run as written."""

import re
import threading
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parents[4] / "docs" / "webhooks.md"


def documented_verify() -> Any:
    """`verify_webhook` from docs/webhooks.md's Python snippet, executed as the agent's developers would paste it."""
    text = DOC.read_text()
    section = text[text.index("## Verifying a delivery") :]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None, "docs/webhooks.md lost its verification snippet"
    namespace: dict[str, Any] = {}
    exec(compile(code.group(1), str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation's snippet
    return namespace["verify_webhook"]


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int


class FakeAgent:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.status = 200
        self.delay = 0.0
        self.lock = threading.Lock()
        agent = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if agent.delay:
                    threading.Event().wait(agent.delay)
                status = agent.status
                with agent.lock:
                    agent.requests.append(Received({k.lower(): v for k, v in self.headers.items()}, body, status))
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("location", "http://127.0.0.1:9/elsewhere")
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/sequora"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "FakeAgent":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def accepted_by_id(self) -> Counter[str]:
        with self.lock:
            return Counter(r.headers["webhook-id"] for r in self.requests if 200 <= r.status < 300)

    def accepted(self) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if 200 <= r.status < 300]
