"""Helpers shared by the drill tests."""

from __future__ import annotations

from opsctl.read.probe import Endpoint


class CountingResolver:
    def __init__(self) -> None:
        self.calls = 0

    def resolve(self, hostname: str) -> Endpoint:
        self.calls += 1
        return Endpoint("http://127.0.0.1:9", hostname)
