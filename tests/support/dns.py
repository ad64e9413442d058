"""A tiny loopback DNS server for tests (dnspython): answers A queries from a callable.

It stands in for a hosted zone's authoritative name servers: `answer(name)` returns the addresses
for a name (lower case, no trailing dot), or None for NXDOMAIN.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

Answer = Callable[[str], list[str] | None]
TTL = 60


class LoopbackDnsServer:
    """UDP on 127.0.0.1 (the OS picks the port), served from a daemon thread."""

    def __init__(self, answer: Answer) -> None:
        self._answer = answer
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        """`127.0.0.1:PORT`, as a topology's nameServers entry."""
        return f"127.0.0.1:{self._socket.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                wire, client = self._socket.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            # One thread per query: an answer may take a while to compute (it reads the emulator).
            threading.Thread(target=self._reply, args=(wire, client), daemon=True).start()

    def _reply(self, wire: bytes, client: tuple[str, int]) -> None:
        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        question = query.question[0]
        name = question.name.to_text().rstrip(".").lower()
        addresses = self._answer(name)
        if addresses is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif question.rdtype == dns.rdatatype.A and addresses:
            response.answer.append(
                dns.rrset.from_text_list(question.name, TTL, "IN", "A", addresses)
            )
        with contextlib.suppress(OSError):  # closed meanwhile
            self._socket.sendto(response.to_wire(), client)

    def close(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=2)
        self._socket.close()
