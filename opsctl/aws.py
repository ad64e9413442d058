"""boto3 clients for opsctl, and the translation of SDK failures into one-line errors.

`AwsClients` is the injectable clients factory every core function takes. It builds clients from one
boto3 session, so the SDK's standard chain applies unchanged: `--profile` (or `AWS_PROFILE`),
environment credentials, SSO, instance roles, and `AWS_ENDPOINT_URL` (boto3 honours it itself, which
is how the tests and the sandbox point opsctl at a local emulator).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.credentials
import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    TokenRetrievalError,
    UnauthorizedSSOTokenError,
)

from opsctl.errors import AwsError, AwsUnreachable

# Route 53's control plane (record changes, health-check reads) lives in us-east-1 only.
ROUTE53_REGION = "us-east-1"

# Incident-time calls: fail fast rather than hang, and leave Route 53 change retries to
# opsctl.change.route53, which knows which errors are safe to retry. Read when a client is created.
# Every API opsctl calls answers in well under a second when healthy; a Region that hangs must
# cost the operator seconds, not minutes (worst case ~3 x (3 + 10) s per read).
CLIENT_CONFIG = Config(
    connect_timeout=3,
    read_timeout=10,
    retries={"mode": "standard", "total_max_attempts": 3},  # the first call and 2 retries
    max_pool_connections=20,
)
# ChangeResourceRecordSets gets no SDK retries at all. The SDK resends a request whose answer was
# lost (read timeout, 5xx); if the first one was applied, the resend's DELETE no longer matches and
# our own applied change would come back as a conflict ("nothing changed"). opsctl.change.route53
# retries only the errors that mean "not applied" and reports any other failure as unconfirmed.
CHANGE_CLIENT_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 1})


ENDPOINT_URL_ENV = "AWS_ENDPOINT_URL"


def _is_endpoint_url(value: str) -> bool:
    """An absolute http(s) URL with a host and a valid port, nothing the SDK would choke on."""
    if not value.isprintable() or any(char.isspace() for char in value):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not 0-65535
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def check_endpoint_urls(environment: Mapping[str, str] = os.environ) -> None:
    """Refuse a malformed AWS_ENDPOINT_URL (or service-specific AWS_ENDPOINT_URL_<SERVICE>)
    before any client is made: the SDK would only fail later, deep in a request."""
    for name, value in sorted(environment.items()):
        is_endpoint = name == ENDPOINT_URL_ENV or name.startswith(f"{ENDPOINT_URL_ENV}_")
        if is_endpoint and not _is_endpoint_url(value):
            raise AwsError(f"{name} is not an http(s) URL with a host: {value!r}")


class AwsClients:
    """Creates and caches one boto3 client per (service, Region); safe to share across threads."""

    def __init__(
        self, session: boto3.Session | None = None, *, credentials_region: str | None = None
    ) -> None:
        check_endpoint_urls()
        self._session = session or boto3.Session()
        # The Region whose STS (or SSO) endpoints resolve the credentials; None: botocore's choice.
        self.credentials_region = credentials_region
        self._clients: dict[tuple[str, str, bool], Any] = {}
        # boto3 sessions are not thread-safe while creating clients; clients themselves are.
        self._lock = threading.Lock()

    @classmethod
    def from_profile(cls, profile: str | None, credentials_region: str | None = None) -> AwsClients:
        """Clients for a named profile, or the default chain (AWS_PROFILE, env, SSO...) if None.

        STS always uses the Regional endpoint of the Region a client is made for, whatever the
        profile's `sts_regional_endpoints` says: the `legacy` setting would send most Regions to
        the global endpoint, which lives in us-east-1.

        With `credentials_region`, a profile's AssumeRole (`role_arn` + `source_profile`) and web
        identity go through that Region's STS. Left to itself, botocore builds the credential
        provider chain once, lazily, when the session's first client is created, with that
        client's Region for STS (botocore/session.py `_create_credential_resolver` passes
        `self._last_client_region_used` to botocore/credentials.py
        `create_credential_resolver(session, cache, region_name)`, whose `_get_client_creator`
        makes the STS client in it): opsctl's first client is often Route 53's, in us-east-1.
        Registering the chain first fixes the Region. The SDK clients made for credentials
        (STS, SSO) get opsctl's timeouts too (the session's default client config)."""
        with translate_aws_errors("opening the AWS session"):
            core = botocore.session.Session(profile=profile)
            core.set_config_variable("sts_regional_endpoints", "regional")
            core.set_default_client_config(CLIENT_CONFIG)
            if credentials_region is not None:
                core.register_component(
                    "credential_provider",
                    botocore.credentials.create_credential_resolver(
                        core, region_name=credentials_region
                    ),
                )
            return cls(boto3.Session(botocore_session=core), credentials_region=credentials_region)

    def resolve_credentials(self, timeout: float) -> None:
        """Resolve the credentials now (an AssumeRole or SSO call, when the profile needs one),
        waiting at most `timeout` seconds: AwsUnreachable when its Region does not answer."""
        where = f" through {self.credentials_region}" if self.credentials_region else ""
        outcome: list[BaseException | None] = []
        done = threading.Event()

        def resolve() -> None:
            try:
                with translate_aws_errors(f"resolving the credentials{where}"):
                    credentials = self._session.get_credentials()
                    if credentials is None:
                        raise NoCredentialsError()
                    credentials.get_frozen_credentials()
                outcome.append(None)
            except BaseException as error:  # handed to the waiting thread
                outcome.append(error)
            finally:
                done.set()

        # A daemon thread: a credentials Region that black-holes costs `timeout`, not the SDK's
        # retries, and never holds up the exit.
        threading.Thread(target=resolve, name="opsctl-credentials", daemon=True).start()
        if not done.wait(timeout):
            raise AwsUnreachable(
                f"the AWS credentials could not be resolved{where} within {timeout:g}s "
                "(the profile's AssumeRole or SSO endpoint does not answer)"
            )
        if outcome[0] is not None:
            raise outcome[0]

    def frozen_credentials(self) -> botocore.credentials.ReadOnlyCredentials | None:
        """The session's credentials (resolved as `resolve_credentials` does), frozen for one
        signature; None when there are none or they cannot be had."""
        try:
            credentials = self._session.get_credentials()
            return None if credentials is None else credentials.get_frozen_credentials()
        except (BotoCoreError, ClientError):
            return None

    @property
    def sso_region(self) -> str | None:
        """The Region the profile's SSO sign-in lives in (its own, its sso-session's, or its
        source profile's); None when the credentials need no SSO."""
        core = self._session._session  # the botocore session: boto3 has no accessor for it
        try:
            profiles = core.full_config.get("profiles", {})
            sessions = core.full_config.get("sso_sessions", {})
            name = core.get_config_variable("profile") or "default"
        except BotoCoreError:
            return None
        seen: set[str] = set()
        while name in profiles and name not in seen:
            seen.add(name)
            config = profiles[name]
            region = config.get("sso_region") or sessions.get(
                config.get("sso_session", ""), {}
            ).get("sso_region")
            if region:
                return str(region)
            name = config.get("source_profile", "")
        return None

    def client(self, service: str, region: str, *, sdk_retries: bool = True) -> Any:
        key = (service, region, sdk_retries)
        config = CLIENT_CONFIG if sdk_retries else CLIENT_CONFIG.merge(CHANGE_CLIENT_CONFIG)
        with self._lock:
            if key not in self._clients:
                with translate_aws_errors(f"creating the {service} client"):
                    try:
                        self._clients[key] = self._session.client(
                            service, region_name=region, config=config
                        )
                    except ValueError as error:  # e.g. an endpoint_url in the AWS config file
                        raise AwsError(
                            f"cannot create the {service} client for {region}: {error}"
                        ) from None
            return self._clients[key]

    def route53(self) -> Any:
        return self.client("route53", ROUTE53_REGION)

    def route53_changes(self) -> Any:
        """For ChangeResourceRecordSets only: no SDK retries (see CHANGE_CLIENT_CONFIG)."""
        return self.client("route53", ROUTE53_REGION, sdk_retries=False)


def client_error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def client_error_message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", "")) or str(error)


@contextmanager
def translate_aws_errors(doing: str) -> Iterator[None]:
    """Turn SDK exceptions raised while `doing` something into an AwsError with one clear line."""
    try:
        yield
    except NoCredentialsError:
        raise AwsError(
            f"no AWS credentials found while {doing}: set AWS_PROFILE or --profile, "
            "or run `aws sso login`"
        ) from None
    except PartialCredentialsError as error:
        raise AwsError(f"incomplete AWS credentials while {doing}: {error}", doing) from None
    except (TokenRetrievalError, UnauthorizedSSOTokenError):
        raise AwsError(
            f"the AWS SSO session has expired while {doing}: run `aws sso login`"
        ) from None
    except ProfileNotFound as error:
        raise AwsError(f"AWS profile not found: {error.kwargs.get('profile')}") from None
    except NoRegionError:
        raise AwsError(f"no AWS Region configured while {doing}", doing) from None
    except (EndpointConnectionError, ConnectTimeoutError) as error:
        raise AwsUnreachable(f"cannot reach AWS while {doing}: {error}", doing) from None
    except ReadTimeoutError as error:
        raise AwsUnreachable(f"AWS did not answer in time while {doing}: {error}", doing) from None
    except HTTPClientError as error:  # the connection was reset or closed without an answer
        raise AwsUnreachable(f"AWS SDK error while {doing}: {error}", doing) from None
    except ClientError as error:
        code = client_error_code(error)
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        raise (AwsUnreachable if status >= 500 else AwsError)(
            f"AWS refused {error.operation_name} while {doing}: "
            f"{code}: {client_error_message(error)}",
            doing,
        ) from None
    except BotoCoreError as error:
        raise AwsError(f"AWS SDK error while {doing}: {error}", doing) from None
