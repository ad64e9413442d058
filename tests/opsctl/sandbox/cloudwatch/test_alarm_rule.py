"""A composite alarm's AlarmRule: the functions, the operators and their precedence, alarms named
by ARN, and the rules CloudWatch would refuse."""

from __future__ import annotations

import re

import pytest

from opsctl.sandbox.cloudwatch.alarm_rule import evaluate_rule

pytestmark = pytest.mark.unit  # pure logic: no emulator, no processes


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ('ALARM("a") OR ALARM("b")', True),
        ('ALARM("a") AND ALARM("b")', False),
        ('ALARM("a") AND NOT ALARM("b")', True),
        ('OK("b") AND (ALARM("c") OR ALARM("a"))', True),
        ("ALARM(arn:aws:cloudwatch:us-east-1:123456789012:alarm:b) OR FALSE", False),
        ('INSUFFICIENT_DATA("c")', True),
        ('ALARM("unknown")', False),
        ("NOT (ALARM(a) OR OK(b))", False),
    ],
)
def test_composite_rule_is_evaluated_over_the_alarm_states(rule: str, expected: bool) -> None:
    states = {"a": "ALARM", "b": "OK", "c": "INSUFFICIENT_DATA"}
    assert evaluate_rule(rule, states) is expected


@pytest.mark.parametrize("rule", ['ALARM("a") OR', '(ALARM("a")', 'ALARM("a") ALARM("b")', "x"])
def test_malformed_composite_rule_is_refused(rule: str) -> None:
    with pytest.raises(ValueError, match="alarm rule"):
        evaluate_rule(rule, {"a": "ALARM"})


STATES = {"a": "ALARM", "b": "OK", "app primary health": "ALARM"}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        # AND binds tighter than OR, on either side.
        ("ALARM(b) AND ALARM(a) OR ALARM(a)", True),
        ("ALARM(a) OR ALARM(a) AND ALARM(b)", True),
        # NOT binds tighter than AND, and applies again when repeated.
        ("NOT ALARM(b) AND ALARM(b)", False),
        ("NOT NOT ALARM(a)", True),
        # Parentheses override both.
        ("(ALARM(a) OR ALARM(a)) AND ALARM(b)", False),
        ("NOT (ALARM(b) AND ALARM(b))", True),
    ],
)
def test_precedence_is_not_then_and_then_or(rule: str, expected: bool) -> None:
    assert evaluate_rule(rule, STATES) is expected


@pytest.mark.parametrize(
    "rule",
    [
        'ALARM("app primary health")',
        'ALARM("arn:aws:cloudwatch:us-east-1:123456789012:alarm:a")',
        'ALARM( "a" )\n  AND\tOK(b)',
        "TRUE AND NOT FALSE",
    ],
)
def test_names_quoted_by_arn_with_spaces_and_literals(rule: str) -> None:
    assert evaluate_rule(rule, STATES) is True


def test_an_alarm_the_rule_names_but_nobody_has_is_in_no_state() -> None:
    for function in ("ALARM", "OK", "INSUFFICIENT_DATA"):
        assert evaluate_rule(f"{function}(gone)", STATES) is False
    assert evaluate_rule("NOT OK(gone)", STATES) is True


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("ALARM()", "cannot parse alarm rule"),
        ("ALARM(a) XOR OK(b)", "cannot parse alarm rule"),
        ('ALARM("a") AND', "ends early"),
        ("NOT", "ends early"),
        (")", "unexpected ')'"),
        ("ALARM(a))", "unexpected ')'"),
        ("(ALARM(a) OR OK(b)", "ends early"),
        ("(ALARM(a) OK(b))", "unbalanced parentheses"),
    ],
)
def test_refusals_say_what_is_wrong(rule: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        evaluate_rule(rule, STATES)
