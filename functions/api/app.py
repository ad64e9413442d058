"""The game-session API: GET /whoami, POST /sessions (idempotent), GET /sessions/{id}."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.api.models import (
    Caller,
    CreateSessionRequest,
    SessionSpec,
    parse_idempotency_key,
    parse_session_id,
)
from functions.api.sessions import SessionService
from functions.api.store import SessionStore
from functions.shared import aws
from functions.shared.errors import DomainError
from functions.shared.observability import logger, metrics
from functions.shared.settings import TableSettings

app = APIGatewayRestResolver()


@dataclass(frozen=True)
class ApiRuntime:
    region: str
    sessions: SessionService


@cache
def runtime() -> ApiRuntime:
    settings = TableSettings.from_env()
    dynamodb = aws.client("dynamodb", settings.region)
    sessions = SessionService(SessionStore(dynamodb, settings.table_name), settings.region)
    return ApiRuntime(region=settings.region, sessions=sessions)


def _caller() -> Caller:
    request_context = app.current_event.raw_event.get("requestContext") or {}
    return Caller.from_authorizer(request_context.get("authorizer"))


def _json(status: HTTPStatus, body: dict[str, Any]) -> Response:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


@app.get("/whoami")
def whoami() -> Response:
    caller = _caller()
    return _json(
        HTTPStatus.OK,
        {
            "principal": caller.principal_id,
            "claims": {**caller.identity.as_json(), "scope": list(caller.scopes)},
            "region": runtime().region,
            "authorizerRegion": caller.authorizer_region,
        },
    )


@app.post("/sessions")
def create_session() -> Response:
    caller = _caller()
    request = CreateSessionRequest(
        owner=caller.identity,
        idempotency_key=parse_idempotency_key(app.current_event.headers.get("idempotency-key")),
        spec=SessionSpec.from_body(app.current_event.decoded_body),
    )
    session = runtime().sessions.create(request)
    metrics.add_metric(name="SessionCreateRequests", unit=MetricUnit.Count, value=1)
    return _json(HTTPStatus.CREATED, session.as_json())


@app.get("/sessions/<session_id>")
def get_session(session_id: str) -> Response:
    caller = _caller()
    session = runtime().sessions.get(parse_session_id(session_id), caller)
    return _json(HTTPStatus.OK, session.as_json())


# Errors map to HTTP here and only here.
@app.exception_handler(DomainError)
def domain_error(error: DomainError) -> Response:
    return _json(error.status, {"message": error.message})


@app.not_found
def route_not_found(_: Exception) -> Response:
    return _json(HTTPStatus.NOT_FOUND, {"message": "no such route"})


@app.exception_handler(Exception)
def unexpected_error(error: Exception) -> Response:
    logger.exception("Unhandled error")
    return _json(HTTPStatus.INTERNAL_SERVER_ERROR, {"message": "internal error"})


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
