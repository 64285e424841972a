"""Network namespaces of the test node, and TCP between them and the host's loopback.

The node (containerd, kubelet, the pods' bridge) lives in a network namespace the harness creates;
the control plane and the test process stay on the host's 127.0.0.1. Two things cross over:

- ``python -m drs_pause_operator.dev.devcluster.netns --netns PATH LISTEN=TARGET...``: a small
  TCP forwarder. Each LISTEN address is bound inside the namespace, each TARGET is dialled on
  the host (e.g. ``10.0.0.1:443=127.0.0.1:6443``: the ``kubernetes`` Service's address, local in
  the node's namespace, reaches the API server). A socket keeps the namespace it was created in,
  so one process serves both sides.
- :func:`in_netns`: run a function in a thread that has entered the namespace (an HTTP GET to a
  pod's address from the test, for instance).

No interface, route or address is ever added to the host's own namespace.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import os
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

CLONE_NEWNET = 0x40000000
T = TypeVar("T")


def _setns(fd: int) -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@contextlib.contextmanager
def entered(netns_path: str) -> Iterator[None]:
    """The calling thread is in NETNS_PATH's network namespace inside the block."""
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(netns_path, os.O_RDONLY)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(target)
        os.close(home)


def in_netns(netns_path: str, fn: Callable[[], T]) -> T:
    """``fn()`` run in a thread that is inside the namespace; its result or its exception."""
    value: list[T] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            with entered(netns_path):
                value.append(fn())
        except BaseException as err:
            error.append(err)

    thread = threading.Thread(target=run, name="in-netns", daemon=True)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return value[0]


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def _serve(listener: socket.socket, target: tuple[str, int]) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*target)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    return await asyncio.start_server(handle, sock=listener)


def _listeners(netns_path: str, addresses: list[str]) -> list[socket.socket]:
    sockets = []
    with entered(netns_path):
        for address in addresses:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(_split(address))
            sock.listen(128)
            sock.setblocking(False)
            sockets.append(sock)
    return sockets


async def _main(netns_path: str, pairs: list[tuple[str, str]]) -> None:
    listeners = _listeners(netns_path, [listen for listen, _ in pairs])
    servers = [await _serve(sock, _split(target))
               for sock, (_, target) in zip(listeners, pairs, strict=True)]
    print("forwarding " + " ".join(f"{a}={b}" for a, b in pairs), flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m drs_pause_operator.dev.devcluster.netns")
    parser.add_argument("--netns", required=True, help="e.g. /run/netns/NAME")
    parser.add_argument("pairs", nargs="+", metavar="LISTEN=TARGET",
                        help="HOST:PORT bound in the namespace = HOST:PORT dialled on the host")
    args = parser.parse_args(argv)
    pairs: list[tuple[str, str]] = []
    for pair in args.pairs:
        listen, sep, target = pair.partition("=")
        if not (sep and listen and target):
            parser.error(f"{pair!r}: expected LISTEN=TARGET")
        pairs.append((listen, target))
    try:
        asyncio.run(_main(args.netns, pairs))
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
