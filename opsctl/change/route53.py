"""The Route 53 weight change: swap the weighted pair as read (`opsctl.read.records`) atomically,
wait for INSYNC.

A change is one ChangeResourceRecordSets batch that DELETEs each record exactly as it was read and
CREATEs it again with the new weight. Route 53 validates the whole batch against the live records
and applies it atomically, so the batch is a compare-and-swap: if anyone changed the records since
our read, the DELETE no longer matches, the batch is rejected and nothing changes (ConflictError).
Throttling and PriorRequestNotComplete are retried with capped exponential backoff and jitter.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.exceptions import ClientError, HTTPClientError

from opsctl.aws import client_error_code, client_error_message, translate_aws_errors
from opsctl.errors import AwsError, ChangeTimeoutError, ChangeUnconfirmedError, ConflictError
from opsctl.model import Clock, Weights
from opsctl.read.records import RecordState
from stack_topology import Topology

# Errors Route 53 documents as "slow down and try again"; the batch was not applied.
RETRYABLE_CODES = frozenset(
    {"Throttling", "ThrottlingException", "PriorRequestNotComplete", "RequestLimitExceeded"}
)
# Route 53 reports a DELETE that no longer matches (or a CREATE that collides) like this.
_CONFLICT_MARKERS = ("Tried to delete", "Tried to create")
# Route 53 caps the change batch comment at 256 characters.
COMMENT_MAX = 256
# How often GetChange is polled while waiting for INSYNC (read at call time).
INSYNC_POLL_INTERVAL = 2.0

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 8.0

    def delay(self, attempt: int) -> float:
        # Full jitter: spreads concurrent operators' retries instead of syncing them up.
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


def build_change_batch(state: RecordState, target: Weights, comment: str) -> dict[str, Any]:
    """DELETE each record exactly as read, CREATE it with its target weight: one atomic CAS."""
    changes: list[dict[str, Any]] = []
    for record in state.records:
        replacement = copy.deepcopy(record.raw)
        replacement["Weight"] = target.of(record.role)
        changes.append({"Action": "DELETE", "ResourceRecordSet": record.raw})
        changes.append({"Action": "CREATE", "ResourceRecordSet": replacement})
    return {"Comment": comment[:COMMENT_MAX], "Changes": changes}


def call_with_backoff(call: Callable[[], T], doing: str, policy: RetryPolicy, clock: Clock) -> T:
    """Run `call`, retrying Route 53's throttling errors; other ClientErrors propagate."""
    for attempt in range(policy.attempts):
        try:
            return call()
        except ClientError as error:
            code = client_error_code(error)
            if code not in RETRYABLE_CODES:
                raise
            if attempt == policy.attempts - 1:
                raise AwsError(
                    f"Route 53 still says {code} after {policy.attempts} attempts while {doing}; "
                    "nothing was changed by this attempt, try again shortly"
                ) from None
            clock.sleep(policy.delay(attempt))
    raise AssertionError("unreachable: the loop returns or raises")


def submit_change(
    route53: Any,
    topology: Topology,
    state: RecordState,
    target: Weights,
    comment: str,
    policy: RetryPolicy | None = None,
    clock: Clock | None = None,
) -> str:
    """Apply the compare-and-swap batch; return the Route 53 change id. Raise ConflictError when
    the records moved, ChangeUnconfirmedError when Route 53 gave no answer (applied or not: the
    caller re-reads the records to tell), AwsError otherwise (not applied)."""
    batch = build_change_batch(state, target, comment)
    policy, clock = policy or RetryPolicy(), clock or Clock()

    def change() -> dict[str, Any]:
        return route53.change_resource_record_sets(
            HostedZoneId=topology.hosted_zone_id, ChangeBatch=batch
        )

    with translate_aws_errors("changing the weighted records"):
        try:
            response = call_with_backoff(change, "changing the weighted records", policy, clock)
        except HTTPClientError as error:  # sent, but the answer was lost (timeout, reset)
            raise ChangeUnconfirmedError(
                f"Route 53 did not answer the change request ({error})"
            ) from None
        except ClientError as error:
            message = client_error_message(error)
            if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
                raise ChangeUnconfirmedError(
                    f"Route 53 failed the change request with {client_error_code(error)}: {message}"
                ) from None
            if client_error_code(error) == "InvalidChangeBatch" and any(
                marker in message for marker in _CONFLICT_MARKERS
            ):
                raise ConflictError(
                    "the weighted records changed since opsctl read them; Route 53 rejected "
                    f"the batch, so it changed nothing ({message}). Run `opsctl status` and retry"
                ) from None
            raise
    return str(response["ChangeInfo"]["Id"]).rsplit("/", 1)[-1]


def wait_insync(
    route53: Any,
    change_id: str,
    timeout: float,
    poll_interval: float | None = None,
    on_poll: Callable[[str, float], None] | None = None,
    policy: RetryPolicy | None = None,
    clock: Clock | None = None,
) -> float:
    """Poll GetChange until INSYNC; return seconds waited. Raise ChangeTimeoutError on timeout."""
    policy, clock = policy or RetryPolicy(), clock or Clock()
    poll_interval = INSYNC_POLL_INTERVAL if poll_interval is None else poll_interval
    started = clock.now()
    while True:
        with translate_aws_errors(f"waiting for change {change_id}"):
            response = call_with_backoff(
                lambda: route53.get_change(Id=change_id),
                f"reading change {change_id}",
                policy,
                clock,
            )
        status = response["ChangeInfo"]["Status"]
        waited = clock.now() - started
        if on_poll is not None:
            on_poll(status, waited)
        if status == "INSYNC":
            return waited
        if waited >= timeout:
            raise ChangeTimeoutError(
                f"change {change_id} was applied but is still {status} after {timeout:.0f}s; "
                f"check it with `aws route53 get-change --id {change_id}`"
            )
        clock.sleep(min(poll_interval, max(0.0, timeout - waited)))
