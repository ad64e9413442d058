"""Pulumi program: config -> components -> exports. See docs/infra.md."""

from pathlib import Path

import pulumi
import pulumi_aws as aws

from infra.components.certificates import DomainCertificates, DomainCertificatesArgs
from infra.components.dashboard import Dashboard, DashboardArgs
from infra.components.data import GlobalTable, GlobalTableArgs
from infra.components.dns import DnsFailover, DnsFailoverArgs, RegionEndpoint
from infra.components.fault_injection import (
    FaultInjectionExperiments,
    FaultInjectionExperimentsArgs,
    FaultInjectionStore,
    FaultInjectionStoreArgs,
)
from infra.components.health_guard import signed_health_arn
from infra.components.lever import OutOfServiceLever, OutOfServiceLeverArgs
from infra.components.operator import OperatorPolicy, OperatorPolicyArgs
from infra.components.regional_alarms import RegionalAlarms, RegionalAlarmsArgs, RegionSignals
from infra.components.regional_api import RegionalApi, RegionalApiArgs
from infra.components.regional_functions import RegionalFunctions, RegionalFunctionsArgs
from infra.components.watch import PeerWatch, PeerWatchArgs
from infra.packaging import LayerBuildSpec, active_layer_builder, functions_archive
from infra.providers import create_providers
from infra.settings.config import load_settings
from infra.settings.environment import WatchedPeer
from infra.settings.model import ROLES, Role, per_role
from infra.topology import LeverOutputs, RegionOutputs, topology_output

PROJECT_DIR = Path(__file__).resolve().parent

# All config is read and checked before the first resource is declared.
settings = load_settings()

providers = create_providers(settings)
account_id = aws.get_caller_identity_output(
    opts=pulumi.InvokeOutputOptions(provider=providers.reads)
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
    opts=pulumi.ResourceOptions(provider=providers.primary),
)

code = functions_archive(PROJECT_DIR / "functions")
dependency_layer_dir = active_layer_builder(PROJECT_DIR).build(
    LayerBuildSpec.for_runtime(
        PROJECT_DIR / "functions" / "requirements.lock", settings.lambda_runtime
    )
)

# FIS Lambda actions need the FIS extension and its S3 prefix wired into the target functions.
fault_store = (
    FaultInjectionStore(
        "fault-injection",
        FaultInjectionStoreArgs(),
        opts=pulumi.ResourceOptions(provider=providers.primary),
    )
    if settings.fault_injection.enabled
    else None
)

certificates = DomainCertificates(
    "certificates", DomainCertificatesArgs(settings=settings, zone_id=zone.zone_id), providers
)

functions: dict[Role, RegionalFunctions] = {}
apis: dict[Role, RegionalApi] = {}
for role in ROLES:
    region = settings.region_of(role)
    provider = pulumi.ResourceOptions(provider=providers.for_role(role))
    functions[role] = RegionalFunctions(
        role,
        RegionalFunctionsArgs(
            role=role,
            region=region,
            settings=settings,
            account_id=account_id,
            table_arn=table.arn_in(region, account_id),
            code=code,
            dependency_layer_dir=dependency_layer_dir,
            provisioned_concurrency=role.pick(
                primary=0, secondary=settings.secondary_provisioned_concurrency
            ),
            fault_injection=role.pick(
                primary=fault_store.wiring if fault_store else None, secondary=None
            ),
            depends_on=[table],
        ),
        opts=provider,
    )
    apis[role] = RegionalApi(
        role,
        RegionalApiArgs(
            role=role,
            region=region,
            settings=settings,
            account_id=account_id,
            certificate_arn=certificates.certificate_arns[role],
            targets=functions[role].targets,
        ),
        opts=provider,
    )

# Each Region watches the other through its custom domain (so after both APIs exist).
watches = {
    role: PeerWatch(
        f"{role}-watch",
        PeerWatchArgs(
            settings=settings,
            role=role,
            package=functions[role].package,
            peer=WatchedPeer(
                role=role.other,
                region=apis[role.other].region,
                address=apis[role.other].domain.regional_domain_name,
            ),
            peer_health_arn=signed_health_arn(apis[role.other].rest_api.execution_arn),
        ),
        opts=pulumi.ResourceOptions(provider=providers.for_role(role)),
    )
    for role in ROLES
}

lever = OutOfServiceLever(
    "lever",
    OutOfServiceLeverArgs(settings=settings),
    opts=pulumi.ResourceOptions(provider=providers.secondary),
)

dns = DnsFailover(
    "dns",
    DnsFailoverArgs(
        settings=settings,
        zone_id=zone.zone_id,
        endpoints=per_role(
            lambda role: RegionEndpoint(
                role=role,
                region=apis[role].region,
                health_check_fqdn=apis[role].health_check_fqdn,
                regional_domain_name=apis[role].domain.regional_domain_name,
                regional_zone_id=apis[role].domain.regional_zone_id,
            )
        ),
        lever_alarm_name=lever.alarm.name,
        lever_alarm_settings=lever.alarm_settings,
        lever_region=lever.region,
    ),
    opts=pulumi.ResourceOptions(provider=providers.alarm),
)

operator = OperatorPolicy(
    "operator",
    OperatorPolicyArgs(
        settings=settings,
        account_id=account_id,
        zone_id=zone.zone_id,
        health_check_ids=[
            *(check.id for check in dns.health_checks.values()),
            # Not the CALCULATED check of autoFailover: GetHealthCheckStatus refuses one.
            dns.lever_health_check.id,
        ],
        rest_api_ids={role: api.rest_api.id for role, api in apis.items()},
        signed_health_arns=[signed_health_arn(api.rest_api.execution_arn) for api in apis.values()],
    ),
    opts=pulumi.ResourceOptions(provider=providers.primary),
)

signals = per_role(
    lambda role: RegionSignals(
        role=role,
        region=apis[role].region,
        api_name=apis[role].rest_api.name,
        function_names=functions[role].function_names,
        health_check_id=dns.health_checks[role].id,
        certificate_arn=certificates.certificate_arns[role],
    )
)
alarms = {
    s.role: RegionalAlarms(
        f"{s.role}-alarms",
        RegionalAlarmsArgs(settings=settings, signals=s),
        opts=pulumi.ResourceOptions(provider=providers.for_role(s.role)),
    )
    for s in signals
}
dashboard = Dashboard(
    "dashboard",
    DashboardArgs(settings=settings, signals=signals),
    opts=pulumi.ResourceOptions(provider=providers.primary),
)

if fault_store is not None:
    primary = functions[Role.PRIMARY]
    FaultInjectionExperiments(
        "fault-injection",
        FaultInjectionExperimentsArgs(
            settings=settings,
            account_id=account_id,
            wiring=fault_store.wiring,
            function_arns=[primary.functions[fn].arn for fn in fault_store.wiring.functions],
            stop_alarm_arns=[alarm.arn for alarm in alarms[Role.PRIMARY].metric_alarms],
        ),
        opts=pulumi.ResourceOptions(provider=providers.primary),
    )

pulumi.export(
    "topology",
    topology_output(
        settings,
        zone.zone_id,
        [
            RegionOutputs(
                role=role,
                region=api.region,
                health_check_id=dns.health_checks[role].id,
                api_url=api.api_url,
                health_url=api.health_url,
                alias_target=api.domain.regional_domain_name,
                watched_from=watches[role.other].region,
            )
            for role, api in apis.items()
        ],
        lever=LeverOutputs(region=lever.region, health_check_id=dns.lever_health_check.id),
        name_servers=zone.name_servers,
        dashboard_url=dashboard.url,
    ),
)
pulumi.export("operatorPolicyArn", operator.policy.arn)
# Where each alarm notifies: subscribe a pager to these (docs/paging.md).
pulumi.export(
    "alertTopics",
    {
        "health": dns.topic.arn,
        **{f"{role}Region": regional.topic.arn for role, regional in alarms.items()},
        # Each Region's watch on the other pages through its own topic: the secondary's is the
        # one that speaks in a us-east-1 outage.
        **{f"{role}Alerts": watch.topic.arn for role, watch in watches.items()},
    },
)
pulumi.export("dashboardUrl", dashboard.url)
pulumi.export("url", f"https://{settings.domain_name}")
pulumi.export("primaryApiUrl", apis[Role.PRIMARY].api_url)
pulumi.export("secondaryApiUrl", apis[Role.SECONDARY].api_url)
