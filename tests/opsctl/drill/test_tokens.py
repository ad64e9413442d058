"""The players' token: given, read from a file, printed by a command; renewed near its expiry."""

from __future__ import annotations

import sys
from pathlib import Path

import jwt
import pytest

from opsctl.drill.tokens import TokenSource, token_expiry, token_origin
from opsctl.errors import InputError

pytestmark = pytest.mark.unit
# The test IdP's HMAC key (32 bytes, as RFC 7518 asks for HS256).
SECRET = "drill-test-signing-key-0123456789"


def signed(exp: float, subject: str = "player") -> str:
    return jwt.encode({"sub": subject, "exp": int(exp)}, SECRET, algorithm="HS256")


def test_the_expiry_is_read_without_verifying_and_none_when_absent() -> None:
    assert token_expiry(signed(1_900_000_000)) == 1_900_000_000
    assert token_expiry(jwt.encode({"sub": "x"}, SECRET, algorithm="HS256")) is None
    assert token_expiry("not-a-jwt") is None
    assert token_expiry("a.!!!.c") is None


def test_a_token_file_is_read_again_when_its_token_nears_expiry(tmp_path: Path) -> None:
    now = [1_000_000.0]
    path = tmp_path / "token"
    path.write_text(signed(now[0] + 300, "first") + "\n")
    source = TokenSource(
        token_origin(None, path, None), margin_seconds=60, wall_clock=lambda: now[0]
    )
    first = source.current()
    assert jwt.decode(first, options={"verify_signature": False})["sub"] == "first"
    path.write_text(signed(now[0] + 900, "second"))  # a sidecar renewed it
    assert source.current() == first  # still 300 s left: kept
    now[0] += 250  # 50 s left, inside the margin
    assert jwt.decode(source.current(), options={"verify_signature": False})["sub"] == "second"
    assert source.refreshes == 1


def test_a_token_command_is_run_again_when_its_token_nears_expiry(tmp_path: Path) -> None:
    counter = tmp_path / "runs"
    script = tmp_path / "mint.py"
    script.write_text(
        "import pathlib, sys, time, jwt\n"
        f"p = pathlib.Path({str(counter)!r})\n"
        "n = int(p.read_text()) + 1 if p.exists() else 1\n"
        "p.write_text(str(n))\n"
        "claims = {'sub': f'run-{n}', 'exp': int(time.time()) + 30}\n"
        "print(jwt.encode(claims, 'k' * 32, algorithm='HS256'))\n"
    )
    source = TokenSource(
        token_origin(None, None, f"{sys.executable} {script}"), margin_seconds=60
    )  # every token has 30 s left: inside the margin, so each use renews it
    first = jwt.decode(source.current(), options={"verify_signature": False})["sub"]
    second = jwt.decode(source.current(), options={"verify_signature": False})["sub"]
    assert (first, second) == ("run-2", "run-3")  # run once to start, again on each renewal
    assert source.refreshes == 2


def test_a_failing_token_command_says_why(tmp_path: Path) -> None:
    script = tmp_path / "fail.py"
    script.write_text("import sys\nprint('no session: run login', file=sys.stderr)\nsys.exit(3)\n")
    with pytest.raises(InputError, match="exited 3: no session: run login"):
        TokenSource(token_origin(None, None, f"{sys.executable} {script}"))


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ((None, None, None), "give exactly one of"),
        (("a", None, "echo b"), "give exactly one of"),
        (("two words", None, None), "did not give one token"),
        ((None, None, "   "), "--token-command is empty"),
    ],
)
def test_bad_token_flags_are_refused(given: tuple, message: str) -> None:
    with pytest.raises(InputError, match=message):
        TokenSource(token_origin(*given))
