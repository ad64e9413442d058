"""The API's data: the caller (from the authorizer's context), session requests and sessions.

Parsing here is the only validation of client input; every failure is a one-line BadRequest.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from functions.shared.errors import BadRequest, PayloadTooLarge, Unauthenticated

MAX_BODY_BYTES = 4096
GAME_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
MODES = ("casual", "ranked")
MIN_PLAYERS, MAX_PLAYERS = 2, 64
# Visible ASCII only: the key is hashed into the session id, never echoed.
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")
SESSION_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class Identity:
    """Who a caller is: a token's `sub` is unique only within its issuer (RFC 7519 §4.1.2), so
    ownership and idempotency always key on both."""

    issuer: str
    subject: str

    def as_json(self) -> dict[str, str]:
        return {"iss": self.issuer, "sub": self.subject}


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the authorizer established it (its policy context)."""

    principal_id: str
    identity: Identity
    scopes: tuple[str, ...]
    authorizer_region: str

    @classmethod
    def from_authorizer(cls, authorizer: object) -> Caller:
        if (
            not isinstance(authorizer, Mapping)
            or not authorizer.get("principalId")
            or not authorizer.get("issuer")
        ):
            raise Unauthenticated("no authenticated caller on this request")
        return cls(
            principal_id=str(authorizer["principalId"]),
            identity=Identity(
                issuer=str(authorizer["issuer"]),
                subject=str(authorizer.get("subject", authorizer["principalId"])),
            ),
            scopes=tuple(str(authorizer.get("scopes", "")).split()),
            authorizer_region=str(authorizer.get("region", "")),
        )


@dataclass(frozen=True)
class SessionSpec:
    """A validated `POST /sessions` body."""

    game: str
    mode: str
    max_players: int

    @classmethod
    def from_body(cls, body: str | None) -> SessionSpec:
        if not body:
            raise BadRequest("request body is required")
        if len(body.encode()) > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"request body must be at most {MAX_BODY_BYTES} bytes")
        try:
            fields = json.loads(body)
        except ValueError:
            raise BadRequest("request body must be JSON") from None
        if not isinstance(fields, dict):
            raise BadRequest("request body must be a JSON object")
        unknown = sorted(set(fields) - {"game", "mode", "maxPlayers"})
        if unknown:
            raise BadRequest(f"unknown field(s): {', '.join(unknown)}")
        return cls(
            game=_game(fields.get("game")),
            mode=_mode(fields.get("mode", MODES[0])),
            max_players=_max_players(fields.get("maxPlayers")),
        )


def _game(value: Any) -> str:
    if not isinstance(value, str) or not GAME_NAME.fullmatch(value):
        raise BadRequest("game must be 1-64 characters of a-z, 0-9 and '-', starting alphanumeric")
    return value


def _mode(value: Any) -> str:
    if value not in MODES:
        raise BadRequest(f"mode must be one of: {', '.join(MODES)}")
    return value


def _max_players(value: Any) -> int:
    # bool is an int in Python; `true` is not a player count.
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"maxPlayers must be an integer from {MIN_PLAYERS} to {MAX_PLAYERS}")
    if not MIN_PLAYERS <= value <= MAX_PLAYERS:
        raise BadRequest(f"maxPlayers must be an integer from {MIN_PLAYERS} to {MAX_PLAYERS}")
    return value


def parse_idempotency_key(value: str | None) -> str:
    if value is None:
        raise BadRequest("Idempotency-Key header is required")
    if not IDEMPOTENCY_KEY.fullmatch(value):
        raise BadRequest("Idempotency-Key must be 1-255 visible ASCII characters")
    return value


def parse_session_id(value: str) -> str:
    if not SESSION_ID.fullmatch(value):
        raise BadRequest("session id must be 32 lowercase hex characters")
    return value


@dataclass(frozen=True)
class CreateSessionRequest:
    """What makes a create idempotent: the same owner and key; `spec` must match on replay."""

    owner: Identity
    idempotency_key: str
    spec: SessionSpec


@dataclass(frozen=True)
class Session:
    id: str
    owner: Identity
    spec: SessionSpec
    created_at: str  # ISO 8601, UTC
    region: str  # the Region that created it

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "owner": self.owner.as_json(),
            "game": self.spec.game,
            "mode": self.spec.mode,
            "maxPlayers": self.spec.max_players,
            "createdAt": self.created_at,
            "region": self.region,
        }
