"""The drill's scenarios, apart from the drill itself so that `opsctl --help` stays light."""

from __future__ import annotations

import enum


class Scenario(enum.StrEnum):
    SWITCH = "switch"  # the primary's failure switch breaks it; the rest of its Region runs
    REGION_OUTAGE = "region-outage"  # the primary Region lost as a whole; the lever recovers
