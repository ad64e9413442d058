"""Pulumi program: config -> components -> exports. See docs/infra.md."""

from pathlib import Path

import pulumi
import pulumi_aws as aws

from infra.config import ROLES, load_settings
from infra.data import GlobalTable, GlobalTableArgs
from infra.dns import DnsFailover, DnsFailoverArgs, RegionEndpoint
from infra.packaging import LayerBuildSpec, active_layer_builder, functions_archive
from infra.providers import create_providers
from infra.regional import RegionalStack, RegionalStackArgs
from infra.topology import RegionTopology, topology_output

PROJECT_DIR = Path(__file__).resolve().parent

# All config is read and checked before the first resource is declared.
settings = load_settings()

providers = create_providers(settings)
account_id = aws.get_caller_identity_output(
    opts=pulumi.InvokeOutputOptions(provider=providers.alarm)
).account_id
zone = aws.route53.get_zone_output(
    name=settings.hosted_zone,
    private_zone=False,
    opts=pulumi.InvokeOutputOptions(provider=providers.alarm),
)

table = GlobalTable(
    "state",
    GlobalTableArgs(
        table_name=settings.table_name,
        replica_region=settings.secondary_region,
        deletion_protection=settings.table_deletion_protection,
    ),
    provider=providers.primary,
)

code = functions_archive(PROJECT_DIR / "functions")
dependency_layer_dir = active_layer_builder(PROJECT_DIR).build(
    LayerBuildSpec.for_runtime(
        PROJECT_DIR / "functions" / "requirements.txt", settings.lambda_runtime
    )
)

regional: dict[str, RegionalStack] = {}
for role in ROLES:
    region = settings.region_of(role)
    regional[role] = RegionalStack(
        role,
        RegionalStackArgs(
            role=role,
            region=region,
            settings=settings,
            account_id=account_id,
            zone_id=zone.zone_id,
            table_arn=table.arn_in(region, account_id),
            code=code,
            dependency_layer_dir=dependency_layer_dir,
            provisioned_concurrency=(
                settings.secondary_provisioned_concurrency if role == "secondary" else 0
            ),
            depends_on=[table],
        ),
        provider=providers.for_role(role),
    )

dns = DnsFailover(
    "dns",
    DnsFailoverArgs(
        settings=settings,
        zone_id=zone.zone_id,
        endpoints=tuple(  # type: ignore[arg-type]
            RegionEndpoint(
                role=role,
                region=stack.region,
                health_check_fqdn=stack.health_check_fqdn,
                regional_domain_name=stack.domain.regional_domain_name,
                regional_zone_id=stack.domain.regional_zone_id,
            )
            for role, stack in regional.items()
        ),
    ),
    provider=providers.alarm,
)

pulumi.export(
    "topology",
    topology_output(
        settings,
        zone.zone_id,
        [
            RegionTopology(
                role=role,
                region=stack.region,
                health_check_id=dns.health_checks[role].id,
                api_url=stack.api_url,
                health_url=stack.health_url,
            )
            for role, stack in regional.items()
        ],
    ),
)
pulumi.export("url", f"https://{settings.domain_name}")
pulumi.export("primaryApiUrl", regional["primary"].api_url)
pulumi.export("secondaryApiUrl", regional["secondary"].api_url)
