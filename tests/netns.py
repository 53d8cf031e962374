"""A private network namespace whose loopback can black-hole one port: its packets dropped silently, as a network
partition or a firewall's DROP does (no refusal, no reset, nothing), which a TCP proxy alone cannot do (its kernel
would still acknowledge every packet). Processes run inside with `command`; a thread of the test joins it with
`enter`; `forward` puts a TcpProxy inside that leads to a server of the machine (the test's PostgreSQL, Redis).

Needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN), util-linux's unshare and nsenter, and iproute2's ip and tc, with
the kernel's htb and tbf queueing disciplines; `unavailable()` says what is missing.
"""

import ctypes
import os
import shutil
import socket
import subprocess
import threading
import time

from tests.tcp_proxy import TcpProxy

CLONE_NEWNET = 0x40000000
TOOLS = ("unshare", "nsenter", "ip", "tc")


def unavailable() -> str | None:
    """Why a namespace cannot be made here, or None."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return f"missing {', '.join(missing)}"
    if os.geteuid() != 0:
        return "needs root to make a network namespace and shape its traffic"
    return None


class Netns:
    def __init__(self) -> None:
        # The namespace lives as long as this process does.
        self.holder = subprocess.Popen(["unshare", "--net", "sleep", "infinity"], start_new_session=True)  # noqa: S607
        self.path = f"/proc/{self.holder.pid}/ns/net"
        ours = os.readlink("/proc/self/ns/net")
        deadline = time.monotonic() + 10
        while os.readlink(self.path) == ours:  # unshare has not moved yet
            if time.monotonic() > deadline:
                raise RuntimeError("unshare did not make a network namespace")
            time.sleep(0.01)
        self.run("ip", "link", "set", "lo", "up")
        self.proxies: list[TcpProxy] = []

    def command(self, *args: str) -> list[str]:
        return ["nsenter", f"--net={self.path}", *args]

    def run(self, *args: str) -> None:
        subprocess.run(self.command(*args), check=True, capture_output=True)  # noqa: S603 - fixed tools

    def enter(self) -> None:
        """Move the calling thread (only it) into the namespace: its sockets are made there."""
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(self.path, os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns failed")
        finally:
            os.close(fd)

    def forward(self, upstream: tuple[str, int]) -> TcpProxy:
        """A proxy listening on 127.0.0.1 inside the namespace, connecting to `upstream` outside it."""
        made: list[socket.socket] = []

        def listen() -> None:
            self.enter()
            made.append(socket.create_server(("127.0.0.1", 0)))

        thread = threading.Thread(target=listen)
        thread.start()
        thread.join()
        proxy = TcpProxy(upstream, listener=made[0])
        self.proxies.append(proxy)
        return proxy

    def black_hole(self, port: int) -> None:
        """Drop every packet to or from `port` on the namespace's loopback: connects and queries get no answer."""
        for step in (
            "qdisc add dev lo root handle 1: htb default 20",
            "class add dev lo parent 1: classid 1:10 htb rate 8bit",
            "class add dev lo parent 1: classid 1:20 htb rate 10gbit",
            # A bucket smaller than any packet: every packet classified here is dropped.
            "qdisc add dev lo parent 1:10 handle 10: tbf rate 8bit burst 10 limit 1",
            f"filter add dev lo parent 1: protocol ip prio 1 u32 match ip dport {port} 0xffff flowid 1:10",
            f"filter add dev lo parent 1: protocol ip prio 1 u32 match ip sport {port} 0xffff flowid 1:10",
        ):
            self.run("tc", *step.split())

    def restore(self) -> None:
        self.run("tc", "qdisc", "del", "dev", "lo", "root")

    def close(self) -> None:
        for proxy in self.proxies:
            proxy.close()
        self.holder.kill()
        self.holder.wait(timeout=10)
