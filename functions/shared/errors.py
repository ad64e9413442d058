"""Domain errors with the HTTP status they map to (the API resolver maps them in one place)."""

from __future__ import annotations

from http import HTTPStatus


class DomainError(Exception):
    """A failure the caller can act on; `message` is safe to show them."""

    status: HTTPStatus = HTTPStatus.BAD_REQUEST

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(DomainError):
    status = HTTPStatus.BAD_REQUEST


class Unauthenticated(DomainError):
    status = HTTPStatus.UNAUTHORIZED


class NotFound(DomainError):
    status = HTTPStatus.NOT_FOUND


class Unprocessable(DomainError):
    status = HTTPStatus.UNPROCESSABLE_ENTITY


class PayloadTooLarge(DomainError):
    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
