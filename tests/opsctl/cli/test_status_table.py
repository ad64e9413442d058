"""The `opsctl status` table at 80 columns, a pipe's width: whole Region names and states,
relative times, colour by state, and no styling at all under NO_COLOR."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from opsctl.cli import output, status_view
from opsctl.model import Weights, ago
from opsctl.read.dns_answers import DnsAnswers
from opsctl.read.health_probe import HealthProbe
from opsctl.read.lever_state import LeverState
from opsctl.read.status_report import StatusReport
from tests.opsctl.samples import region_status

NOW = datetime(2026, 11, 29, 9, 0, 0, tzinfo=UTC)


def _report(**fields: object) -> StatusReport:
    """The widest a status gets: the longest Region names, INSUFFICIENT_DATA in both alarm rows,
    a probe with no answer, a source unreadable, the lever and DNS lines."""
    report = StatusReport(
        record_name="auth.example.com.",
        weights=Weights(100, 0),
        regions=(
            region_status(
                "primary",
                "ap-southeast-2",
                healthy=False,
                checkers_healthy=3,
                alarm="ALARM",
                alarm_since="2026-11-29T08:57:00Z",
                impaired_alarm="INSUFFICIENT_DATA",
                probe=HealthProbe("https://api.example.com/health", 503, 102.3, None),
            ),
            region_status(
                "secondary",
                "ap-northeast-3",
                alarm="INSUFFICIENT_DATA",
                impaired_alarm_since="2026-11-27T09:00:00Z",
                failure_switch="failing",
                probe=HealthProbe(
                    "https://api.example.com/health", None, 2000.0, "timed out after 2 s"
                ),
            ),
        ),
        errors=("AWS gave no answer while reading the failure switch",),
        unreadable=("switch:primary",),
        lever=LeverState("alarm", "released", "2026-11-29T07:06:50Z", "OK"),
        dns=DnsAnswers("auth.example.com", "A", ("ns-1.awsdns-01.org",), {"primary": 8}, {}),
    )
    return replace(report, **fields)


def _render(report: StatusReport, terminal: bool = False) -> str:
    """What opsctl's stdout console writes, 80 columns wide: a pipe's, or a terminal's."""
    written = io.StringIO()
    console = output._DataConsole(file=written, width=80, force_terminal=terminal)
    console.print(status_view.status_renderable(report, now=NOW))
    return written.getvalue()


def test_the_status_table_fits_80_columns_with_every_name_and_state_whole() -> None:
    shown = _render(_report())
    assert "…" not in shown
    assert max(len(line) for line in shown.splitlines()) <= 80
    for whole in (
        "ap-southeast-2",
        "ap-northeast-3",
        "primary",
        "secondary",
        "UNHEALTHY (3/16)",
        "healthy (16/16)",
        "INSUFFICIENT_DATA",
        "failing",
        "unknown",  # the primary's switch could not be read
        "HTTP 503 in 102 ms",
    ):
        assert whole in shown, whole


def test_the_table_gives_alarm_times_relative_and_json_keeps_them_absolute() -> None:
    report = _report()
    shown = _render(report)
    assert "ALARM 3m" in shown  # 08:57 at 09:00
    assert "INSUFFICIENT_DATA 2h" in shown  # 07:00
    assert "OK 2d" in shown  # the secondary's impaired alarm, two days ago
    assert "2026-11-29T08:57:00Z" not in shown
    primary = report.to_json()["regions"][0]
    assert primary["alarmSince"] == "2026-11-29T08:57:00Z"


@pytest.mark.parametrize(
    ("since", "shown"),
    [
        ("2026-11-29T08:59:18Z", "42s"),
        ("2026-11-29T09:00:00+00:00", "0s"),
        ("2026-11-29T09:05:00Z", "0s"),  # ahead of our clock
        ("2026-11-29T06:30:00Z", "2h"),
        ("2026-11-22T09:00:00Z", "7d"),
        ("not a time", "?"),
        (None, "?"),
    ],
)
def test_ago_is_one_largest_unit(since: str | None, shown: str) -> None:
    assert ago(since, NOW) == shown


def test_states_are_coloured_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    console = output._DataConsole(width=80, force_terminal=True)
    colour = {
        segment.text.strip(): segment.style.color.name
        for segment in console.render(status_view.status_renderable(_report(), now=NOW))
        if segment.style is not None and segment.style.color is not None
    }
    assert colour["OK 2d"] == "green"
    assert colour["ALARM 3m"] == "red"
    assert colour["INSUFFICIENT_DATA 2h"] == "yellow"
    assert colour["unknown"] == "yellow"
    assert "\x1b[" in _render(_report(), terminal=True)


def test_no_color_gives_no_escapes_even_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    shown = _render(_report(), terminal=True)
    assert "\x1b" not in shown
    assert "ap-southeast-2" in shown


# What a newcomer meets in an outage: the headline says what players meet, in words ------------


def _primary_dark(**fields: object) -> StatusReport:
    """us-east-1 out: the weights, the health metric and the primary's switch unreadable; DNS
    answers the primary's addresses, which do not answer; the direct probe of the primary gets
    no answer while the secondary's answers 200."""
    dark = region_status(
        "primary", "us-east-1", weight=None, share=None, healthy=None,
        checkers_healthy=None, checkers_total=None, alarm=None, failure_switch=None,
        impaired_alarm=None,
        probe=HealthProbe("https://a/health", None, 2000.0, "no answer in 2 s"),
    )  # fmt: skip
    fine = region_status(
        "secondary", "us-west-2", weight=None, share=None, healthy=None,
        checkers_healthy=None, checkers_total=None, alarm=None,
        probe=HealthProbe("https://b/health", 200, 61.0, None),
    )  # fmt: skip
    unreadable = ("records", "health", "alarms", "checkers:primary", "switch:primary")
    report = StatusReport(
        record_name="auth.example.com.",
        weights=None,
        regions=(dark, fine),
        errors=(
            "AWS SDK error while reading the weighted records: Connection was closed before we "
            'received a valid response from endpoint URL: "http://127.0.0.1:9/2013-04-01/x".',
            "no answer within 3.5s while reading health",
            "AWS refused DescribeAlarms while reading alarms: AccessDenied: not allowed",
            "AWS did not answer in time while reading the checkers: Read timeout on endpoint URL",
            "cannot reach AWS while reading failure switch: Could not connect to the endpoint URL",
        ),
        unreadable=unreadable,
        lever=LeverState("alarm", "released", "2026-11-29T08:00:00Z", "OK"),
        dns=DnsAnswers("auth.example.com", "A", ("ns-1",), {"noAnswer": 8}, {}),
    )
    return replace(report, **fields)


def test_dns_sending_players_to_a_region_that_does_not_answer_is_the_headline() -> None:
    report = _primary_dark()
    assert report.headline.startswith(
        "DNS sends players to a Region that does not answer (8 of 8 answers unanswered): "
        "primary (us-east-1) does not answer (direct probe: no answer in 2 s)"
    )
    assert report.advice == 'opsctl failover --approve --reason "..."'
    assert not report.consistent


def test_the_partial_data_list_is_complete_and_in_words() -> None:
    headline = _primary_dark().headline
    assert (
        "[partial data: unreadable in us-east-1: weights, health metric, health alarms, "
        "primary's health checkers, primary's failure switch; judged from lever]"
    ) in headline
    assert "checkers:" not in headline and "switch:" not in headline


def test_each_unreadable_source_is_one_line_saying_where_what_and_what_happened() -> None:
    assert status_view.unreadable_lines(_primary_dark()) == [
        "us-east-1 weights: connection closed without an answer",
        "us-east-1 health metric: no answer within 3.5s",
        "us-east-1 health alarms: denied (AccessDenied on DescribeAlarms)",
        "us-east-1 primary's health checkers: no answer in time (read timeout)",
        "us-east-1 primary's failure switch: refused",
    ]
    rendered = _render(_primary_dark())
    assert "endpoint URL" not in rendered and "None" not in rendered


def test_a_failed_minute_with_every_checker_healthy_again_says_both() -> None:
    recovering = _report(
        regions=(
            region_status("primary", "us-east-1", healthy=False, checkers_healthy=16),
            region_status("secondary", "us-west-2"),
        )
    )
    written = io.StringIO()
    output._DataConsole(file=written, width=200).print(status_view.status_renderable(recovering))
    assert "UNHEALTHY this minute; 16/16 checkers healthy now" in written.getvalue()


def test_the_share_row_says_it_is_the_weights_share() -> None:
    assert "weight share" in _render(_report())
