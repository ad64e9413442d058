"""One Region's API front as the supervisor runs it: the listening socket the supervisor binds
(so no port can be taken in between) and the front process (`python -m opsctl.sandbox.front`)
serving on it, taken out and brought back for outages."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from opsctl.sandbox.front.spec import FrontSpec
from opsctl.sandbox.outage import OutageMode
from opsctl.sandbox.processes import PROJECT_ROOT, sandbox_process_environment

FRONT_READY_TIMEOUT_SECONDS = 30.0
FRONT_STOP_TIMEOUT_SECONDS = 5.0
FRONT_HOST_FORMAT = "127.0.0.{}"
BIND_ATTEMPTS = 20


def wait_until_serving(address: str, timeout: float) -> None:
    """Until the front at `address` (host:port) answers HTTP at all (a 403 for `/` proves it
    routes)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"http://{address}/", timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"front on {address} did not serve within {timeout:.0f}s"
                ) from None
            time.sleep(0.05)


def bind_listener(host: str, port: int) -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A restored Region binds its address again while the old connections sit in TIME_WAIT.
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
        listener.listen(128)
    except OSError:
        listener.close()
        raise
    return listener


def bind_front_listeners(regions: list[str]) -> dict[str, socket.socket]:
    """One listener per Region, each on its own loopback address (127.0.0.2, 127.0.0.3, ...) and
    all on one port, as every Region's API answers on 443: an A record alone tells them apart."""
    for _ in range(BIND_ATTEMPTS):
        first = bind_listener(FRONT_HOST_FORMAT.format(2), 0)
        port = int(first.getsockname()[1])
        listeners = {regions[0]: first}
        try:
            for index, region in enumerate(regions[1:], start=3):
                listeners[region] = bind_listener(FRONT_HOST_FORMAT.format(index), port)
            return listeners
        except OSError:  # that port is taken on another address: try another one
            for listener in listeners.values():
                listener.close()
    raise RuntimeError(f"no port free on every front address after {BIND_ATTEMPTS} attempts")


def address_of(listener: socket.socket) -> str:
    host, port = listener.getsockname()[:2]
    return f"{host}:{port}"


class RegionFront:
    """One Region's API front: the listening socket this supervisor binds and the front process
    serving it. Taking the Region out stops the process; `refuse` also closes the socket
    (connection refused), `hang` keeps it listening so the kernel accepts connections nobody
    ever answers."""

    def __init__(
        self,
        region: str,
        listener: socket.socket,
        spec_file: Path,
        directory: Path,
        time_scale: float = 1.0,
    ) -> None:
        self.region = region
        self.address = address_of(listener)
        self.listener: socket.socket | None = listener
        self.spec_file = spec_file
        self.directory = directory
        self.time_scale = time_scale
        self.process: subprocess.Popen[bytes] | None = None
        # The Region's EventBridge schedules (front/schedule.py): out with the Region, as on AWS.
        self.schedules: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the front process on the listener (bound again if it was closed)."""
        if self.listener is None:
            host, port = self.address.rsplit(":", 1)
            self.listener = bind_listener(host, int(port))
        listener = self.listener
        # The functions' logs and EMF metrics, as CloudWatch Logs would hold them per Region.
        with (self.directory / f"functions-{self.region}.log").open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "opsctl.sandbox.front",
                    str(self.spec_file),
                    "--fd",
                    str(listener.fileno()),
                    "--supervisor-pid",
                    str(os.getpid()),
                ],
                pass_fds=[listener.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=sandbox_process_environment(dict(os.environ)),
                cwd=PROJECT_ROOT,
            )
        if FrontSpec.from_json(self.spec_file.read_text()).schedules:
            self.schedules = self._start_schedules()

    def _start_schedules(self) -> subprocess.Popen[bytes]:
        with (self.directory / f"functions-{self.region}.log").open("ab") as log:
            return subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "opsctl.sandbox.front.schedule",
                    str(self.spec_file),
                    "--time-scale",
                    str(self.time_scale),
                    "--supervisor-pid",
                    str(os.getpid()),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=sandbox_process_environment(dict(os.environ)),
                cwd=PROJECT_ROOT,
            )

    def wait_serving(self) -> None:
        wait_until_serving(self.address, FRONT_READY_TIMEOUT_SECONDS)

    def take_out(self, mode: OutageMode) -> None:
        self._stop_process()
        if mode is OutageMode.REFUSE:
            self._close_listener()
        elif self.listener is None:
            host, port = self.address.rsplit(":", 1)
            self.listener = bind_listener(host, int(port))

    def bring_back(self) -> None:
        # A fresh socket: connections held while the Region hung are dropped, not served late.
        self._close_listener()
        self.start()
        self.wait_serving()

    def stop(self) -> None:
        self._stop_process()
        self._close_listener()

    def _stop_process(self) -> None:
        for process in (self.process, self.schedules):
            if process is None:
                continue
            process.terminate()
            try:
                process.wait(timeout=FRONT_STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.process = self.schedules = None

    def _close_listener(self) -> None:
        if self.listener is not None:
            self.listener.close()
            self.listener = None
