import asyncio
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from intake.mllp import serve


class Command(BaseCommand):
    help = "Listen for HL7 v2 ADT messages over MLLP (MLLP_HOST, MLLP_PORT; TLS with MLLP_TLS_CERT_FILE)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=None, help="the address to bind (default MLLP_HOST, 127.0.0.1)")
        parser.add_argument("--port", type=int, default=None, help="the port (default MLLP_PORT, 2575; 0: any free)")

    def handle(self, *args: Any, **options: Any) -> None:
        host = options["host"] or settings.MLLP_HOST
        port = settings.MLLP_PORT if options["port"] is None else options["port"]

        async def main() -> None:
            ready: asyncio.Future[tuple[str, int]] = asyncio.get_running_loop().create_future()
            ready.add_done_callback(self._announce)
            await serve(host=host, port=port, ready=ready)

        asyncio.run(main())

    def _announce(self, ready: "asyncio.Future[tuple[str, int]]") -> None:
        host, port = ready.result()
        self.stdout.write(f"mllp listening on {host}:{port}")
        self.stdout.flush()  # a supervisor (scripts/run.sh, a test) waits for this line
