"""What recovery without us-east-1 depends on, judged: the operator's SSO sign-in, the zone's
accelerated recovery."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsctl.aws import AwsClients
from opsctl.errors import AwsUnreachable
from opsctl.read.concurrent_reads import Outcome
from opsctl.read.readiness_report import PASS, WARN
from opsctl.read.recovery_checks import accelerated_recovery_check, credentials_check


@pytest.mark.parametrize(
    ("sso_region", "result"),
    [(None, PASS), ("eu-west-1", PASS), ("us-east-1", WARN)],
)
def test_an_sso_sign_in_in_the_primarys_region_is_a_warning(
    sso_region: str | None, result: str
) -> None:
    check = credentials_check(sso_region, "us-west-2", primary="us-east-1")
    assert check.result == result
    if result == WARN:
        assert "SSO sign-in is in us-east-1, the primary's Region" in check.detail


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("[profile operator]\nsso_region = us-east-1\nsso_account_id = 1\n", "us-east-1"),
        (
            "[profile operator]\nsso_session = corp\n\n"
            "[sso-session corp]\nsso_region = eu-west-1\n",
            "eu-west-1",
        ),
        # The role is assumed with the source profile's SSO credentials.
        (
            "[profile operator]\nrole_arn = arn:aws:iam::1:role/ops\nsource_profile = sso\n\n"
            "[profile sso]\nsso_region = us-east-1\n",
            "us-east-1",
        ),
        (
            "[profile operator]\nrole_arn = arn:aws:iam::1:role/ops\nsource_profile = keys\n\n"
            "[profile keys]\naws_access_key_id = AKIA\n",
            None,
        ),
    ],
)
def test_the_sso_region_a_profile_depends_on(
    config: str, expected: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "aws-config"
    path.write_text(config)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(path))
    assert AwsClients.from_profile("operator", "us-west-2").sso_region == expected


@pytest.mark.parametrize(
    ("status", "result"),
    [("ENABLED", PASS), ("DISABLED", WARN), ("ENABLING", WARN), (None, WARN)],
)
def test_accelerated_recovery_off_is_a_warning(status: str | None, result: str) -> None:
    assert accelerated_recovery_check(Outcome(status)).result == result


def test_an_unreadable_zone_is_a_warning_never_a_refusal() -> None:
    check = accelerated_recovery_check(Outcome(None, AwsUnreachable("no answer within 3.5s")))
    assert (check.result, check.value) == (WARN, "unknown")
