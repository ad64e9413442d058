"""Who serves: the weights decide when they can be read; DNS samples corroborate with counts, and
answers that name no Region are said, never dropped."""

from __future__ import annotations

import pytest

from opsctl.model import Weights
from opsctl.read.dns_answers import EMPTY, FAILED, NO_ANSWER, UNCLASSIFIED, DnsAnswers
from opsctl.read.status_report import StatusReport
from tests.opsctl.samples import region_status

pytestmark = pytest.mark.unit


def report(weights: Weights | None, counts: dict[str, int]) -> StatusReport:
    return StatusReport(
        record_name="auth.example.com.",
        weights=weights,
        regions=(
            region_status(
                "primary",
                "us-east-1",
                weight=weights.primary if weights else None,
                share=weights.share("primary") if weights else None,
            ),
            region_status(
                "secondary",
                "us-west-2",
                weight=weights.secondary if weights else None,
                share=weights.share("secondary") if weights else None,
            ),
        ),
        errors=(),
        unreadable=() if weights else ("records",),
        dns=DnsAnswers("auth.example.com.", "A", ("ns-1.awsdns-01.org",), counts, {}),
    )


def test_a_10_90_step_sampled_all_secondary_is_still_a_split_shown_with_its_counts() -> None:
    # 0.9 ** 8 = 43%: eight samples all on the secondary say nothing against a 10/90 step.
    shown = report(Weights(10, 90), {"secondary": 8})
    assert shown.serving == "split"
    assert "traffic is split: primary 10% / secondary 90%" in shown.headline
    assert "DNS: 8/8 answers: secondary 8" in shown.headline
    assert "DISAGREES" not in shown.headline


def test_dns_naming_a_region_the_weights_give_nothing_is_called_out() -> None:
    shown = report(Weights(100, 0), {"primary": 5, "secondary": 3})
    assert shown.serving == "primary"
    assert "DNS DISAGREES: 8/8 answers: primary 5, secondary 3" in shown.headline


@pytest.mark.parametrize(
    ("kind", "in_words"),
    [
        (UNCLASSIFIED, "unclassified"),
        (NO_ANSWER, "unanswered"),
        (EMPTY, "empty"),
        (FAILED, "failed"),
    ],
)
def test_answers_naming_no_region_are_in_the_headline(kind: str, in_words: str) -> None:
    shown = report(Weights(100, 0), {"primary": 6, kind: 2})
    assert shown.serving == "primary"
    # The Regions first, then what named none, in words rather than JSON keys.
    assert f"answers: primary 6, {in_words} 2;" in shown.headline
    assert "2 name no Region" in shown.headline
    assert shown.to_json()["dns"]["answers"] == {"primary": 6, kind: 2}


def test_without_the_weights_the_dns_answers_tell_who_serves() -> None:
    shown = report(None, {"primary": 2, "secondary": 6})
    assert shown.serving == "split"
    assert "traffic is split (DNS answers: primary 2 / secondary 6)" in shown.headline
    assert "from DNS answers" in shown.headline
