"""The weight change against Route 53's own answers, where moto cannot produce them.

moto (even with the emulator's faithful change layer) never throttles, never answers
PriorRequestNotComplete, and cannot interleave another writer between our read and our write, so
these paths use botocore's Stubber with the responses Route 53 documents. The compare-and-swap
itself is also exercised for real against the emulator at the end.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from opsctl.aws import AwsClients
from opsctl.change.route53 import (
    RecordState,
    RetryPolicy,
    alias_mismatches,
    build_change_batch,
    read_records,
    submit_change,
    wait_insync,
)
from opsctl.errors import (
    AwsError,
    ChangeTimeoutError,
    ChangeUnconfirmedError,
    ConflictError,
    RecordsError,
)
from opsctl.model import Clock, Weights
from opsctl.topology import parse_topology
from stack_topology import Topology
from tests.opsctl.conftest import World, _record, alias_target
from tests.support.http import LoopbackServer, QuietHandler


@dataclass
class FakeClock:
    """Advances only when slept on, so waits and backoff cost no real time."""

    now_value: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> Clock:
        return Clock(now=lambda: self.now_value, sleep=self._sleep)

    def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now_value += seconds


@pytest.fixture
def state(world: World) -> RecordState:
    return read_records(world.client("route53"), world.topology)


@pytest.fixture
def stubbed() -> Any:
    client = boto3.client("route53", region_name="us-east-1", endpoint_url="http://127.0.0.1:9")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


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
    stubbed: Any,
    world: World,
    state: RecordState,
    route53_message: str,
    error: type[Exception],
    match: str,
) -> None:
    client, stubber = stubbed
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
    stubbed: Any, world: World, state: RecordState, code: str
) -> None:
    client, stubber = stubbed
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
    stubbed: Any, world: World, state: RecordState
) -> None:
    client, stubber = stubbed
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


def test_wait_polls_pending_until_insync(stubbed: Any) -> None:
    client, stubber = stubbed
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


def test_wait_times_out_saying_the_change_was_applied(stubbed: Any) -> None:
    client, stubber = stubbed
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


def test_records_that_disagree_between_a_and_aaaa(world: World) -> None:
    changes = []
    for region, weight in (("us-east-1", 0), ("us-west-2", 100)):
        record = _record(region, weight)
        record["Type"] = "AAAA"
        changes.append({"Action": "CREATE", "ResourceRecordSet": record})
    world.client("route53").change_resource_record_sets(
        HostedZoneId=world.topology.hosted_zone_id, ChangeBatch={"Changes": changes}
    )
    document = dict(world.topology_document)
    document["records"] = [*document["records"], {"name": "auth.example.com.", "type": "AAAA"}]
    topology: Topology = parse_topology(document)
    with pytest.raises(RecordsError, match="disagree on weights"):
        read_records(world.client("route53"), topology)


def test_weights_outside_0_255_and_both_zero_are_refused(stubbed: Any, world: World) -> None:
    client, stubber = stubbed
    records = [
        {
            "Name": "auth.example.com.",
            "Type": "A",
            "SetIdentifier": region,
            "Weight": weight,
            "AliasTarget": {"HostedZoneId": "Z1", "DNSName": "d.", "EvaluateTargetHealth": False},
        }
        for region, weight in (("us-east-1", 300), ("us-west-2", 0))
    ]
    # Real Route 53 cannot hold weight 300; moto accepts it. The check guards against both.
    stubber.add_response(
        "list_resource_record_sets",
        {"ResourceRecordSets": records, "IsTruncated": False, "MaxItems": "100"},
    )
    with pytest.raises(RecordsError, match="weight 300, outside 0-255"):
        read_records(client, world.topology)
    with pytest.raises(RecordsError, match="both weighted records have weight 0"):
        Weights(0, 0).require_shiftable()


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
    stubbed: Any, world: World, state: RecordState
) -> None:
    client, stubber = stubbed
    stubber.add_client_error(  # the stubber cannot time out; a 503 stands for a lost answer
        "change_resource_record_sets",
        service_error_code="ServiceUnavailable",
        http_status_code=503,
    )
    with pytest.raises(ChangeUnconfirmedError, match="failed the change request"):
        submit_change(
            client, world.topology, state, Weights(0, 100), "c", clock=FakeClock().clock()
        )


# Who serves is judged from what the records point to ------------------------------------------


def _without_alias_targets(document: dict[str, Any]) -> dict[str, Any]:
    stripped = copy.deepcopy(document)
    for region in stripped["regions"].values():
        region.pop("aliasTarget", None)
    return stripped


def test_records_pointing_at_their_own_regions_are_consistent(world: World) -> None:
    state = read_records(world.client("route53"), world.topology)
    assert alias_mismatches(state, world.topology) == ()
    # A topology without aliasTarget: the Region's name in the alias name decides.
    older = parse_topology(_without_alias_targets(world.topology_document))
    assert alias_mismatches(state, older) == ()


@pytest.mark.parametrize("with_alias_targets", [True, False])
def test_a_record_aliased_to_the_other_regions_domain_is_a_mismatch(
    world: World, with_alias_targets: bool
) -> None:
    world.point_record_at("primary", "us-west-2")
    document = world.topology_document
    topology = parse_topology(document if with_alias_targets else _without_alias_targets(document))
    state = read_records(world.client("route53"), topology)
    expected = alias_target("us-east-1") if with_alias_targets else "a name in us-east-1"
    assert alias_mismatches(state, topology) == (
        f"the primary A record (us-east-1) points at {alias_target('us-west-2')}, the "
        f"secondary's (us-west-2), not {expected}",
    )


def test_a_topology_with_swapped_set_identifiers_is_two_mismatches(world: World) -> None:
    document = copy.deepcopy(world.topology_document)
    regions = document["regions"]
    regions["primary"]["setIdentifier"], regions["secondary"]["setIdentifier"] = (
        regions["secondary"]["setIdentifier"],
        regions["primary"]["setIdentifier"],
    )
    topology = parse_topology(document)
    state = read_records(world.client("route53"), topology)
    assert state.weights == Weights(0, 100)  # by set identifier, the "secondary" serves...
    mismatches = alias_mismatches(state, topology)  # ...but its record points at us-east-1
    assert sorted(line.split(" points at ")[0] for line in mismatches) == [
        "the primary A record (us-west-2)",
        "the secondary A record (us-east-1)",
    ]


def test_a_record_that_is_not_an_alias_cannot_be_checked(state: RecordState, world: World) -> None:
    plain = dict(state.records[0].raw)
    del plain["AliasTarget"]
    plain["ResourceRecords"], plain["TTL"] = [{"Value": "192.0.2.1"}], 60
    records = (replace(state.records[0], raw=plain), *state.records[1:])
    (line,) = alias_mismatches(replace(state, records=records), world.topology)
    assert line.endswith("is not an alias record, so where it points cannot be checked")
