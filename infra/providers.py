"""One explicit AWS provider per Region the program touches."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi_aws as aws

from infra.settings.model import ALARM_REGION, Role, Settings


@dataclass(frozen=True)
class Providers:
    primary: aws.Provider
    secondary: aws.Provider
    # us-east-1: Route 53 (global control plane), its health-check metrics, alarms and topic.
    alarm: aws.Provider
    # Where the program's own reads go (the account id): a Region not in an incident.
    reads: aws.Provider

    def for_role(self, role: Role) -> aws.Provider:
        return role.pick(self.primary, self.secondary)


def _provider(name: str, region: str, settings: Settings) -> aws.Provider:
    default_tags = None
    if settings.default_tags:
        default_tags = aws.ProviderDefaultTagsArgs(tags=dict(settings.default_tags))
    if region != settings.incident_region:
        return aws.Provider(name, region=region, default_tags=default_tags)
    # An impaired Region: no call at provider start-up (STS credential check, account id
    # lookup, instance metadata), so a deploy targeted at the other Region's resources can run.
    return aws.Provider(
        name,
        region=region,
        default_tags=default_tags,
        skip_credentials_validation=True,
        skip_requesting_account_id=True,
        skip_region_validation=True,
        skip_metadata_api_check=True,
    )


def create_providers(settings: Settings) -> Providers:
    primary = _provider("primary", settings.primary_region, settings)
    secondary = _provider("secondary", settings.secondary_region, settings)
    alarm = _provider("alarm-region", ALARM_REGION, settings)
    reads = secondary if settings.incident_region == ALARM_REGION else alarm
    return Providers(primary=primary, secondary=secondary, alarm=alarm, reads=reads)
