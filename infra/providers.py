"""One explicit AWS provider per Region the program touches."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi_aws as aws

from infra.settings import ALARM_REGION, Role, Settings


@dataclass(frozen=True)
class Providers:
    primary: aws.Provider
    secondary: aws.Provider
    # us-east-1: Route 53 (global control plane), its health-check metrics, alarms and topic.
    alarm: aws.Provider

    def for_role(self, role: Role) -> aws.Provider:
        return role.pick(self.primary, self.secondary)


def create_providers(settings: Settings) -> Providers:
    return Providers(
        primary=aws.Provider("primary", region=settings.primary_region),
        secondary=aws.Provider("secondary", region=settings.secondary_region),
        alarm=aws.Provider("alarm-region", region=ALARM_REGION),
    )
