"""Running a drill: a failure mid-drill still restores and reports, and the restore is not
stopped half-way by a second signal."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from opsctl.aws import AwsClients
from opsctl.change.audit import AuditLog
from opsctl.drill.model import DrillTarget, FoundState, Restored
from opsctl.drill.runner import run_drill, signals_answered
from opsctl.drill.switch_drill import SwitchDrill
from opsctl.drill.tokens import TokenSource, token_from_value
from opsctl.errors import AwsUnreachable
from opsctl.model import Weights
from opsctl.topology import parse_topology
from tests.opsctl.drill.conftest import CountingResolver
from tests.support.stack import topology_document


def test_a_second_signal_during_the_restore_is_answered_not_obeyed() -> None:
    # The restore must not stop half-way: Ctrl-C and SIGTERM while it runs each get a line
    # saying it is still restoring, and the handlers in force before are back afterwards.
    said: list[str] = []
    before = signal.getsignal(signal.SIGINT)
    with signals_answered(said.append, "restoring the stack as found"):
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)  # the handlers run between bytecodes of this thread
        finished = True
    assert finished
    assert said == [
        "SIGINT received: still restoring the stack as found; it is bounded, wait for it",
        "SIGTERM received: still restoring the stack as found; it is bounded, wait for it",
    ]
    assert signal.getsignal(signal.SIGINT) is before


def test_aws_not_answering_mid_drill_still_restores_and_reports(tmp_path: Path) -> None:
    # On a loaded stack a read can miss its deadline mid-drill: the drill fails, restores what
    # it found, and says so, rather than leaving the switch flipped without a report.
    restored: list[str] = []

    class ReadTimesOut(SwitchDrill):
        def read_found(self) -> FoundState:
            return FoundState({"primary": "healthy", "secondary": "healthy"}, Weights(100, 0))

        def run(self) -> None:
            raise AwsUnreachable("no answer within 3.5s while reading records")

        def restore(self, found: FoundState, why: str) -> Restored:
            restored.append(why)
            return Restored(["primary failure switch: failing -> healthy"], True, "as found")

    target = DrillTarget(
        clients=AwsClients(),
        topology=parse_topology(topology_document("game-prod")),
        hostname="auth.example.com",
        new_resolver=CountingResolver,
        tokens=TokenSource(token_from_value("eyJhbGciOiJub25lIn0.eyJzdWIiOiJkcmlsbCJ9.sig")),
        audit_log=AuditLog(tmp_path / "audit.jsonl"),
    )
    run = run_drill(ReadTimesOut(target))
    assert (run.outcome, run.reason) == ("failed", "no answer within 3.5s while reading records")
    assert restored == ["drill failed"]
    assert run.restored is not None and run.restored.confirmed
