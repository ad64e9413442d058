"""The weight change against Route 53's own answers, where moto cannot produce them.

moto (even with the emulator's faithful change layer) never throttles, never answers
PriorRequestNotComplete, and cannot interleave another writer between our read and our write, so
these paths use botocore's Stubber with the responses Route 53 documents. The compare-and-swap
itself is also exercised for real against the emulator at the end.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from opsctl.aws import AwsClients
from opsctl.change.route53 import RetryPolicy, build_change_batch, submit_change, wait_insync
from opsctl.errors import (
    AwsError,
    ChangeTimeoutError,
    ChangeUnconfirmedError,
    ConflictError,
)
from opsctl.model import Weights
from opsctl.read.records import RecordState, read_records
from tests.opsctl.samples import FakeClock
from tests.opsctl.world import World
from tests.support.http import LoopbackServer, QuietHandler


@pytest.fixture
def state(world: World) -> RecordState:
    return read_records(world.client("route53"), world.topology)


CHANGE_OK = {"ChangeInfo": {"Id": "/change/C123", "Status": "PENDING", "SubmittedAt": "2026-01-01"}}


def test_batch_deletes_exactly_what_was_read_and_creates_the_new_weights(
    state: RecordState,
) -> None:
    batch = build_change_batch(state, Weights(0, 100), "why")
    actions = [(c["Action"], c["ResourceRecordSet"]["SetIdentifier"]) for c in batch["Changes"]]
    assert actions == [
        ("DELETE", "us-east-1"),
        ("CREATE", "us-east-1"),
        ("DELETE", "us-west-2"),
        ("CREATE", "us-west-2"),
    ]
    deletes = [c["ResourceRecordSet"] for c in batch["Changes"] if c["Action"] == "DELETE"]
    assert deletes == [record.raw for record in state.records]
    creates = [c["ResourceRecordSet"] for c in batch["Changes"] if c["Action"] == "CREATE"]
    assert [c["Weight"] for c in creates] == [0, 100]
    assert creates[0]["AliasTarget"] == deletes[0]["AliasTarget"]
    assert state.records[0].raw["Weight"] == 100  # the read state is not mutated


def test_comment_is_cut_to_route53s_256_characters(state: RecordState) -> None:
    assert len(build_change_batch(state, Weights(0, 100), "x" * 400)["Comment"]) == 256


@pytest.mark.parametrize(
    ("route53_message", "error", "match"),
    [
        (
            # How Route 53 rejects a DELETE that no longer matches: the compare-and-swap lost.
            "[Tried to delete resource record set [name='auth.example.com.', type='A', "
            "set-identifier='us-east-1'] but the values provided do not match the current values]",
            ConflictError,
            "changed since opsctl read them",
        ),
        # Any other invalid batch is an AWS error, not a conflict.
        ("Alias target hosted zone is invalid", AwsError, "Alias target hosted zone is invalid"),
    ],
)
def test_invalid_change_batch_is_a_conflict_only_when_the_records_moved(
    stubbed_route53: Any,
    world: World,
    state: RecordState,
    route53_message: str,
    error: type[Exception],
    match: str,
) -> None:
    client, stubber = stubbed_route53
    stubber.add_client_error(
        "change_resource_record_sets",
        service_error_code="InvalidChangeBatch",
        service_message=route53_message,
        http_status_code=400,
    )
    with pytest.raises(error, match=match):
        submit_change(
            client, world.topology, state, Weights(0, 100), "c", clock=FakeClock().clock()
        )


@pytest.mark.parametrize("code", ["Throttling", "PriorRequestNotComplete"])
def test_throttling_is_retried_with_backoff(
    stubbed_route53: Any, world: World, state: RecordState, code: str
) -> None:
    client, stubber = stubbed_route53
    for _ in range(2):
        stubber.add_client_error(
            "change_resource_record_sets", service_error_code=code, http_status_code=400
        )
    stubber.add_response("change_resource_record_sets", CHANGE_OK)
    fake = FakeClock()
    change_id = submit_change(
        client, world.topology, state, Weights(0, 100), "c", clock=fake.clock()
    )
    assert change_id == "C123"
    assert len(fake.sleeps) == 2
    policy = RetryPolicy()
    assert all(0 <= s <= policy.max_delay for s in fake.sleeps)


def test_retries_give_up_with_a_clear_message(
    stubbed_route53: Any, world: World, state: RecordState
) -> None:
    client, stubber = stubbed_route53
    policy = RetryPolicy(attempts=3)
    for _ in range(3):
        stubber.add_client_error(
            "change_resource_record_sets", service_error_code="Throttling", http_status_code=400
        )
    with pytest.raises(AwsError, match="still says Throttling after 3 attempts"):
        submit_change(
            client,
            world.topology,
            state,
            Weights(0, 100),
            "c",
            policy=policy,
            clock=FakeClock().clock(),
        )


def _change(status: str) -> dict[str, Any]:
    return {"ChangeInfo": {"Id": "/change/C123", "Status": status, "SubmittedAt": "2026-01-01"}}


def test_wait_polls_pending_until_insync(stubbed_route53: Any) -> None:
    client, stubber = stubbed_route53
    stubber.add_response("get_change", _change("PENDING"), {"Id": "C123"})
    stubber.add_client_error("get_change", service_error_code="Throttling", http_status_code=400)
    stubber.add_response("get_change", _change("PENDING"), {"Id": "C123"})
    stubber.add_response("get_change", _change("INSYNC"), {"Id": "C123"})
    fake = FakeClock()
    polls: list[str] = []
    waited = wait_insync(
        client,
        "C123",
        timeout=60,
        poll_interval=5,
        on_poll=lambda status, _: polls.append(status),
        clock=fake.clock(),
    )
    assert polls == ["PENDING", "PENDING", "INSYNC"]
    assert waited == pytest.approx(sum(fake.sleeps))
    assert fake.sleeps.count(5) == 2  # one more sleep was the throttling backoff


def test_wait_times_out_saying_the_change_was_applied(stubbed_route53: Any) -> None:
    client, stubber = stubbed_route53
    for _ in range(3):
        stubber.add_response("get_change", _change("PENDING"), {"Id": "C123"})
    with pytest.raises(ChangeTimeoutError, match="applied but is still PENDING after 10s"):
        wait_insync(client, "C123", timeout=10, poll_interval=5, clock=FakeClock().clock())


def test_real_compare_and_swap_on_the_emulator(world: World, state: RecordState) -> None:
    route53 = world.client("route53")
    world.set_weights(50, 50)  # another writer, after our read
    with pytest.raises(ConflictError, match="do not match the current values"):
        submit_change(route53, world.topology, state, Weights(0, 100), "c")
    assert world.weights() == Weights(50, 50)  # nothing changed


class _FailingRoute53:
    """A local endpoint that answers every request with Route 53's 500 InternalFailure, counting
    the requests: what the SDK does with a failed change request is the behaviour under test."""

    BODY = (
        b'<?xml version="1.0"?>\n<ErrorResponse xmlns="https://route53.amazonaws.com/doc/'
        b'2013-04-01/"><Error><Type>Receiver</Type><Code>InternalFailure</Code><Message>'
        b"internal error</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
    )

    def __init__(self) -> None:
        self.requests = 0
        outer = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests += 1
                self.reply(500, outer.BODY, "text/xml")

            do_GET = do_POST

        self.server = LoopbackServer(Handler)

    @property
    def url(self) -> str:
        return self.server.base_url

    def close(self) -> None:
        self.server.close()


def test_a_failed_change_request_is_sent_once_and_reported_unconfirmed(
    world: World, state: RecordState, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A 5xx may come after Route 53 applied the batch. Resending it (as the SDK's own retries
    # would) turns our applied change into a "conflict, nothing changed": the change client must
    # send it once and say the outcome is unconfirmed.
    failing = _FailingRoute53()
    monkeypatch.setenv("AWS_ENDPOINT_URL", failing.url)
    try:
        with pytest.raises(ChangeUnconfirmedError, match="InternalFailure: internal error"):
            submit_change(
                AwsClients().route53_changes(), world.topology, state, Weights(0, 100), "c"
            )
        assert failing.requests == 1
        with pytest.raises(ClientError):  # the reading client keeps the SDK's retries
            AwsClients().route53().get_change(Id="C1")
        assert failing.requests == 1 + 3  # reads: 3 attempts, as docs/opsctl.md says
    finally:
        failing.close()


def test_a_lost_answer_is_reported_unconfirmed(
    stubbed_route53: Any, world: World, state: RecordState
) -> None:
    client, stubber = stubbed_route53
    stubber.add_client_error(  # the stubber cannot time out; a 503 stands for a lost answer
        "change_resource_record_sets",
        service_error_code="ServiceUnavailable",
        http_status_code=503,
    )
    with pytest.raises(ChangeUnconfirmedError, match="failed the change request"):
        submit_change(
            client, world.topology, state, Weights(0, 100), "c", clock=FakeClock().clock()
        )
