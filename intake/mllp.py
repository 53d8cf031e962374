"""The MLLP listener: HL7 v2 messages framed <VT> message <FS><CR> over TCP (optionally TLS), each answered with its
acknowledgement once its transaction has committed (docs/integration.md).

Built on python-hl7's asyncio MLLP streams (`hl7.mllp`): its reader reads up to a frame's end with a size limit,
its writer frames the answer. Each connection is served in order (the sender waits for an ACK before the next
message, as MLLP's original mode asks); the database work of a message runs in a thread, so connections do not
wait on each other. What a frame holds never closes the connection: junk before the start byte is skipped, an
oversized or unreadable frame is answered AR. Only a failure of our own (the database out of reach) closes it
without an answer, so the sender sends the message again later: nothing is acknowledged that is not stored."""

import asyncio
import logging
import signal
import ssl

from django.conf import settings
from django.db import close_old_connections
from hl7.mllp import start_hl7_server
from hl7.mllp.streams import END_BLOCK, START_BLOCK

from intake import hl7v2
from intake.services import hl7_receive

logger = logging.getLogger(__name__)

FRAME_END = END_BLOCK + b"\r"
# The largest message taken (an ADT message is a few kilobytes); a bigger frame is answered AR and skipped.
MAX_FRAME_BYTES = 1024 * 1024


def receive_in_thread(block: bytes) -> bytes:
    """The database work of one message, in a worker thread with its own connection."""
    close_old_connections()  # a connection the database dropped since the last message is replaced, not reused
    try:
        return hl7_receive(block).encode("ascii", "replace")
    finally:
        close_old_connections()


def frame_payload(data: bytes) -> bytes | None:
    """The message inside one frame read up to <FS><CR>: after its last <VT> (bytes before it are line noise or
    the rest of a broken frame). None: no <VT> at all, nothing to answer."""
    start = data.rfind(START_BLOCK)
    if start < 0:
        return None
    return data[start + 1 : -len(FRAME_END)]


async def serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    peer = writer.get_extra_info("peername")
    logger.info("mllp connection from %s", peer)
    try:
        while True:
            try:
                data = await reader.readuntil(FRAME_END)
            except asyncio.IncompleteReadError:
                break  # the sender closed the connection (a partial frame is dropped: it was never acknowledged)
            except asyncio.LimitOverrunError as exc:
                await _skip_oversized(reader, exc.consumed)
                writer.write(START_BLOCK + _too_large() + FRAME_END)
                await writer.drain()
                continue
            block = frame_payload(data)
            if block is None:
                logger.warning("mllp frame without a start byte from %s skipped", peer)
                continue
            ack = await asyncio.to_thread(receive_in_thread, block)
            writer.write(START_BLOCK + ack + FRAME_END)
            await writer.drain()
    except (ConnectionError, ssl.SSLError) as exc:
        logger.info("mllp connection from %s ended: %s", peer, type(exc).__name__)
    except Exception:
        # The database out of reach, or a bug: no ACK, so the sender resends; the listener goes on serving others.
        logger.exception("mllp message from %s not applied; connection closed unanswered", peer)
    finally:
        writer.close()


async def _skip_oversized(reader: asyncio.StreamReader, consumed: int) -> None:
    """Drop the bytes of a frame over the limit, up to its end."""
    while True:
        try:
            await reader.readuntil(FRAME_END)
            return
        except asyncio.LimitOverrunError as exc:
            await reader.readexactly(exc.consumed)


def _too_large() -> bytes:
    text = f"The message is larger than {MAX_FRAME_BYTES} bytes."
    return hl7v2.ack(None, "AR", text=text, error_code=102, location="MSH-1").encode("ascii")


def tls_context() -> ssl.SSLContext | None:
    if not settings.MLLP_TLS_CERT_FILE:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(settings.MLLP_TLS_CERT_FILE, settings.MLLP_TLS_KEY_FILE or None)
    if settings.MLLP_TLS_CLIENT_CA_FILE:
        context.load_verify_locations(settings.MLLP_TLS_CLIENT_CA_FILE)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


async def serve(*, host: str, port: int, ready: "asyncio.Future[tuple[str, int]] | None" = None) -> None:
    """Listen until SIGTERM or SIGINT; then stop taking connections and let the messages in flight finish."""
    server = await start_hl7_server(serve_connection, host=host, port=port, ssl=tls_context(), limit=MAX_FRAME_BYTES)
    address = server.sockets[0].getsockname()[:2]
    logger.info(
        "mllp listener on %s:%s (tls %s)", address[0], address[1], "on" if settings.MLLP_TLS_CERT_FILE else "off"
    )
    if ready is not None:
        ready.set_result(address)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with server:
        await stop.wait()
        server.close()
        await server.wait_closed()
    logger.info("mllp listener stopped")
