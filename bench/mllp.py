"""MLLP messages per second: the ADT listener (`manage.py mllp_listener`: parse, map, store and apply each message
in one transaction, then ACK) beside an MLLP echo server on the same machine in the same run (the same asyncio
streams of python-hl7, answering each frame with an AA at once: what the network, framing and Python cost alone).

    .venv/bin/python -m bench.mllp                          # 2,000 messages, 1 and 4 connections
    .venv/bin/python -m bench.mllp --messages 500 --connections 1

It runs in the bench's lab (bench/lab.py: its own PostgreSQL and Redis, a fresh database). The messages are
tests/intake/feed.py's day of traffic (admissions, discharges, held discharges, cancels, merges, updates, errors,
resends), split across the connections by patient so each patient's messages stay in order; no Celery worker
runs, so the cost measured is the listener's own (the events' messages wait in Redis).
"""

import argparse
import asyncio
import os
import subprocess
import sys
import threading
import time
from collections import defaultdict

from bench.lab import ROOT, Servers, lab_environment, lab_start, say, truncate_product_tables

VT, FS_CR = b"\x0b", b"\x1c\r"


# What the echo answers to every frame: an AA of the listener's shape and size (no Django in this process).
ECHO_ACK = (
    VT + b"MSH|^~\\&|SEQUORA|SEQUORA|EPICADT|GENERAL|20261207120000+0000||ACK^A01^ACK|0123456789abcdef0123|P|2.5.1\r"
    b"MSA|AA|MSG00000001|\r" + FS_CR
)


async def _echo_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    ack = ECHO_ACK
    try:
        while True:
            await reader.readuntil(FS_CR)
            writer.write(ack)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


async def _echo_main(port: int) -> None:
    from hl7.mllp import start_hl7_server

    server = await start_hl7_server(_echo_connection, host="127.0.0.1", port=port)
    print(f"echo listening on {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def _start(command: list[str], env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # noqa: S603
    assert process.stdout is not None
    line = process.stdout.readline().decode()
    return process, int(line.rsplit(":", 1)[-1].split()[-1])


def _send_all(port: int, messages: list[bytes]) -> None:
    from tests.intake.mllp import Engine

    engine = Engine(port)
    for message in messages:
        engine.send(message)
    engine.close()


def _rate(port: int, batches: list[list[bytes]]) -> float:
    threads = [threading.Thread(target=_send_all, args=(port, batch)) for batch in batches]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(len(b) for b in batches) / (time.perf_counter() - started)


def _batches(stream: list[tuple[str, bytes]], connections: int) -> list[list[bytes]]:
    """Each patient's messages on one connection, in order (the control id names the patient: C<patient>-<n>)."""
    batches: dict[int, list[bytes]] = defaultdict(list)
    for control_id, message in stream:
        batches[int(control_id[1:6]) % connections].append(message)
    return list(batches.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--connections", default="1,4")
    parser.add_argument("--echo-server", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.echo_server is not None:
        asyncio.run(_echo_main(args.echo_server))
        return 0

    servers = Servers()
    lab_start(servers)
    from tests.intake.feed import feed

    env = {**os.environ, **lab_environment(servers), "CARE_FACILITIES": "GENERAL=General Hospital"}
    echo, echo_port = _start([sys.executable, "-m", "bench.mllp", "--echo-server", "0"], env)
    rows = []
    try:
        for connections in (int(c) for c in args.connections.split(",")):
            truncate_product_tables()
            stream, _ = feed(max(1, args.messages * 10 // 30))
            stream = stream[: args.messages]
            batches = _batches(stream, connections)
            echo_rate = _rate(echo_port, batches)
            listener, port = _start([sys.executable, "manage.py", "mllp_listener", "--port", "0"], env)
            try:
                listener_rate = _rate(port, batches)
            finally:
                listener.terminate()
                listener.wait()
            rows.append((connections, len(stream), echo_rate, listener_rate))
            say(f"{connections} connection(s), {len(stream)} messages: echo {echo_rate:,.0f} msg/s, "
                f"listener {listener_rate:,.0f} msg/s")  # fmt: skip
    finally:
        echo.terminate()
        echo.wait()
        servers.down()
    say("")
    say("| connections | messages | MLLP echo (msg/s) | ADT listener, applied (msg/s) | listener / echo |")
    say("| --- | --- | --- | --- | --- |")
    for connections, count, echo_rate, listener_rate in rows:
        say(f"| {connections} | {count} | {echo_rate:,.0f} | {listener_rate:,.0f} | {listener_rate / echo_rate:.1%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
