"""Lambda's Invoke API for the functions of one Region, as a function calling another of its
Region's functions reaches it (the health function invokes the authorizer's alias as its canary).

`POST /2015-03-31/functions/<name, ARN or partial ARN>/invocations[?Qualifier=...]`, as botocore
sends it when `AWS_ENDPOINT_URL_LAMBDA` points here. As Lambda answers: an unknown function or
qualifier is a 404 `ResourceNotFoundException`; a handler that raises is a 200 with
`X-Amz-Function-Error: Unhandled` and `{"errorMessage", "errorType"}`; otherwise 200 and the
handler's result as JSON. Served on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<function>[^/]+)/invocations$")
# arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>], or
# <account>:function:<name>[:<qualifier>], or <name>[:<qualifier>]
_FUNCTION_ID = re.compile(
    r"^(?:(?:arn:[a-z-]+:lambda:[a-z0-9-]+:)?\d{12}:function:)?(?P<name>[A-Za-z0-9_-]+)"
    r"(?::(?P<qualifier>[A-Za-z0-9_$-]+))?$"
)
LATEST = "$LATEST"

Invoke = Callable[[str, dict[str, Any]], Any]


def _error(status: int, error_type: str, message: str) -> tuple[int, dict[str, str], bytes]:
    body = json.dumps({"Type": "User", "message": message}).encode()
    return status, {"x-amzn-ErrorType": error_type, "Content-Type": "application/json"}, body


class LambdaEndpoint:
    """Serves Invoke for `aliases` (function name -> its alias names) through `invoke`."""

    def __init__(self, invoke: Invoke, aliases: Mapping[str, list[str]]) -> None:
        self._invoke = invoke
        self._aliases = {name: set(names) for name, names in aliases.items()}
        self.invoked: list[tuple[str, dict[str, Any]]] = []  # (function, event), for tests
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, headers, payload = endpoint.answer(self.path, body)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, raw_path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        split = urlsplit(raw_path)
        route = INVOKE_PATH.match(split.path)
        identifier = _FUNCTION_ID.match(unquote(route["function"])) if route else None
        if identifier is None:
            return _error(404, "ResourceNotFoundException", f"no such function: {split.path}")
        name = identifier["name"]
        qualifier = identifier["qualifier"] or parse_qs(split.query).get("Qualifier", [None])[0]
        if name not in self._aliases or (
            qualifier not in (None, LATEST) and qualifier not in self._aliases[name]
        ):
            return _error(404, "ResourceNotFoundException", f"Function not found: {name}")
        try:
            event = json.loads(body or b"{}")
        except ValueError:
            return _error(400, "InvalidRequestContentException", "Could not parse request body")
        self.invoked.append((name, event))
        try:
            result = self._invoke(name, event)
        except Exception as error:
            failure = {"errorMessage": str(error), "errorType": type(error).__name__}
            return 200, {"X-Amz-Function-Error": "Unhandled"}, json.dumps(failure).encode()
        return 200, {"Content-Type": "application/json"}, json.dumps(result).encode()
