"""What recovery without us-east-1 depends on beyond the Regions themselves: the operator's
credentials (an SSO sign-in in the primary's Region) and the zone's accelerated recovery (weight
changes again about an hour into a us-east-1 outage)."""

from __future__ import annotations

from opsctl.read.concurrent_reads import Outcome
from opsctl.read.readiness_report import PASS, WARN, Check, unknown_check


def credentials_check(
    sso_region: str | None, credentials_region: str | None, primary: str
) -> Check:
    """Credentials that need the primary's Region fail with it: an SSO sign-in lives in one
    Region, and a new session (or a refresh) needs it."""
    through = credentials_region or "the SDK's default Region"
    if sso_region is None:
        return Check("credentials", PASS, f"resolved through {through}")
    value = f"SSO in {sso_region}; resolved through {through}"
    if sso_region == primary:
        return Check(
            "credentials",
            WARN,
            value,
            f"the profile's SSO sign-in is in {primary}, the primary's Region: with it down, no "
            "SSO session can be started or refreshed (keep a profile whose sso_region is another "
            "Region, or one that assumes a role from keys)",
        )
    return Check("credentials", PASS, value)


def accelerated_recovery_check(status: Outcome[str | None]) -> Check:
    """With accelerated recovery, the zone's control plane moves to us-west-2 about an hour into
    a us-east-1 outage: weight changes work again then."""
    name = "accelerated-recovery"
    unknown = unknown_check(name, status)
    if unknown:
        return unknown
    if status.value == "ENABLED":
        return Check(name, PASS, "ENABLED")
    return Check(
        name,
        WARN,
        status.value or "not reported",
        "without Route 53 accelerated recovery, the weights cannot move for as long as "
        "us-east-1 is down: only the data-plane lever can",
    )
