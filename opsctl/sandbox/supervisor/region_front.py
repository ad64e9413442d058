"""One Region's API front as the supervisor runs it: the listening sockets the supervisor binds
(so no port can be taken in between), one per address the Region answers on, and the front
process (`python -m opsctl.sandbox.front`) serving HTTPS on them, taken out and brought back for
outages."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from opsctl.sandbox.faults.outage import OutageMode
from opsctl.sandbox.front.spec import FrontSpec
from opsctl.sandbox.supervisor.processes import PROJECT_ROOT, sandbox_process_environment
from opsctl.sandbox.tls_ca import FrontCertificate

FRONT_READY_TIMEOUT_SECONDS = 30.0
FRONT_STOP_TIMEOUT_SECONDS = 5.0
FRONT_HOST_FORMAT = "127.0.0.{}"
BIND_ATTEMPTS = 20
# Addresses per Region: the first answers the API's own names (execute-api, the custom domain's
# Regional target), the others are the front doors DNS rotates through for the shared name. As
# on AWS, where API Gateway's addresses are dynamic and shared, a lookup of the alias target
# does not return the addresses the shared name was just answered with.
ADDRESSES_PER_REGION = 4


def wait_until_serving(address: str, timeout: float) -> None:
    """Until the front at `address` (host:port) answers HTTPS at all (a 403 for `/` proves it
    routes). Its certificate is not checked here: this asks whether the process serves."""
    unverified = ssl._create_unverified_context()
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"https://{address}/", timeout=1, context=unverified)
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


def front_hosts(region_index: int) -> list[str]:
    """The loopback addresses of the `region_index`th Region (0: 127.0.0.2-5, 1: 127.0.0.6-9)."""
    first = 2 + region_index * ADDRESSES_PER_REGION
    return [FRONT_HOST_FORMAT.format(first + n) for n in range(ADDRESSES_PER_REGION)]


def bind_front_listeners(regions: list[str]) -> dict[str, list[socket.socket]]:
    """ADDRESSES_PER_REGION listeners per Region, each on its own loopback address and all on one
    port, as every Region's API answers on 443: the address alone tells the Regions apart."""
    hosts = [host for index in range(len(regions)) for host in front_hosts(index)]
    for _ in range(BIND_ATTEMPTS):
        first = bind_listener(hosts[0], 0)
        port = int(first.getsockname()[1])
        bound = [first]
        try:
            bound.extend(bind_listener(host, port) for host in hosts[1:])
        except OSError:  # that port is taken on another address: try another one
            for listener in bound:
                listener.close()
            continue
        return {
            region: bound[index * ADDRESSES_PER_REGION : (index + 1) * ADDRESSES_PER_REGION]
            for index, region in enumerate(regions)
        }
    raise RuntimeError(f"no port free on every front address after {BIND_ATTEMPTS} attempts")


def address_of(listener: socket.socket) -> str:
    host, port = listener.getsockname()[:2]
    return f"{host}:{port}"


class RegionFront:
    """One Region's API front: the listening sockets this supervisor binds and the front process
    serving them. Taking the Region out stops the process; `refuse` also closes the sockets
    (connection refused), `hang` keeps them listening so the kernel accepts connections nobody
    ever answers."""

    def __init__(
        self,
        region: str,
        listeners: list[socket.socket],
        spec_file: Path,
        directory: Path,
        certificate: FrontCertificate,
        time_scale: float = 1.0,
    ) -> None:
        self.region = region
        # The first answers the API's own names; all of them serve the same front.
        self.addresses = [address_of(listener) for listener in listeners]
        self.listeners: list[socket.socket] | None = listeners
        self.spec_file = spec_file
        self.directory = directory
        self.certificate = certificate
        self.time_scale = time_scale
        self.process: subprocess.Popen[bytes] | None = None
        # The Region's EventBridge schedules (front/schedule.py): out with the Region, as on AWS.
        self.schedules: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        """Where the API's own names (execute-api, the Regional domain name) resolve to."""
        return self.addresses[0]

    def _bind(self) -> list[socket.socket]:
        if self.listeners is None:
            self.listeners = []
            for address in self.addresses:
                host, port = address.rsplit(":", 1)
                self.listeners.append(bind_listener(host, int(port)))
        return self.listeners

    def start(self) -> None:
        """Start the front process on the listeners (bound again if they were closed)."""
        listeners = self._bind()
        descriptors = [listener.fileno() for listener in listeners]
        # The functions' logs and EMF metrics, as CloudWatch Logs would hold them per Region.
        with (self.directory / f"functions-{self.region}.log").open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "opsctl.sandbox.front",
                    str(self.spec_file),
                    *(arg for fd in descriptors for arg in ("--fd", str(fd))),
                    "--tls-cert",
                    str(self.certificate.cert_file),
                    "--tls-key",
                    str(self.certificate.key_file),
                    "--supervisor-pid",
                    str(os.getpid()),
                ],
                pass_fds=descriptors,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=self._function_environment(),
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
                env=self._function_environment(),
                cwd=PROJECT_ROOT,
            )

    def _function_environment(self) -> dict[str, str]:
        # The functions' own HTTPS calls (the watcher's GET of the peer) trust the sandbox's CA.
        return sandbox_process_environment(dict(os.environ)) | {
            "SSL_CERT_FILE": str(self.certificate.trust_bundle)
        }

    def wait_serving(self) -> None:
        for address in self.addresses:
            wait_until_serving(address, FRONT_READY_TIMEOUT_SECONDS)

    def take_out(self, mode: OutageMode) -> None:
        self._stop_process()
        if mode is OutageMode.REFUSE:
            self._close_listeners()
        else:
            self._bind()

    def bring_back(self) -> None:
        # Fresh sockets: connections held while the Region hung are dropped, not served late.
        self._close_listeners()
        self.start()
        self.wait_serving()

    def stop(self) -> None:
        self._stop_process()
        self._close_listeners()

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

    def _close_listeners(self) -> None:
        for listener in self.listeners or []:
            listener.close()
        self.listeners = None
