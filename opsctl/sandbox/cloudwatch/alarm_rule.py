"""A composite alarm's AlarmRule, evaluated over the states of the alarms it names."""

from __future__ import annotations

import re

_RULE_TOKEN = re.compile(
    r"\s*(?:(?P<function>ALARM|OK|INSUFFICIENT_DATA)\s*\(\s*(?:\"(?P<quoted>[^\"]+)\"|"
    r"(?P<bare>[^)\s]+))\s*\)|(?P<word>AND|OR|NOT|TRUE|FALSE)\b|(?P<paren>[()]))"
)


def evaluate_rule(rule: str, states: dict[str, str]) -> bool:
    """A composite AlarmRule over the named alarms' states (NOT binds tighter than AND, AND
    tighter than OR). An alarm named by ARN is looked up by its name; an unknown one is in no
    state. Raises ValueError on a rule CloudWatch would reject."""
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(rule.rstrip()):
        match = _RULE_TOKEN.match(rule, position)
        if match is None:
            raise ValueError(f"cannot parse alarm rule at {rule[position:]!r}")
        position = match.end()
        if match.group("function"):
            name = (match.group("quoted") or match.group("bare")).rsplit(":alarm:", 1)[-1]
            tokens.append(("state", str(states.get(name) == match.group("function"))))
        elif match.group("word") in ("TRUE", "FALSE"):
            tokens.append(("state", str(match.group("word") == "TRUE")))
        else:
            tokens.append(("op", match.group("word") or match.group("paren")))
    index = 0

    def peek() -> tuple[str, str] | None:
        return tokens[index] if index < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal index
        if index >= len(tokens):
            raise ValueError(f"alarm rule ends early: {rule!r}")
        index += 1
        return tokens[index - 1]

    def disjunction() -> bool:
        value = conjunction()
        while peek() == ("op", "OR"):
            take()
            value = conjunction() or value
        return value

    def conjunction() -> bool:
        value = negation()
        while peek() == ("op", "AND"):
            take()
            value = negation() and value
        return value

    def negation() -> bool:
        if peek() == ("op", "NOT"):
            take()
            return not negation()
        kind, text = take()
        if (kind, text) == ("op", "("):
            value = disjunction()
            if take() != ("op", ")"):
                raise ValueError(f"unbalanced parentheses in alarm rule {rule!r}")
            return value
        if kind != "state":
            raise ValueError(f"unexpected {text!r} in alarm rule {rule!r}")
        return text == "True"

    result = disjunction()
    if index != len(tokens):
        raise ValueError(f"unexpected {tokens[index][1]!r} in alarm rule {rule!r}")
    return result
