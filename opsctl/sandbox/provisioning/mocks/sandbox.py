"""Pulumi mocks for the sandbox: realistic answers, plus real resources in the emulator for what
runs (each kind created by its module: `monitoring`, `compute`, `apigateway`)."""

from __future__ import annotations

from typing import Any

from infra.mockrun import RealisticMocks
from opsctl.sandbox.provisioning.mocks import apigateway, compute, monitoring
from opsctl.sandbox.provisioning.mocks.target import ClientFactory, Creator, MockTarget
from opsctl.sandbox.route53.checkers import CHECKER_SOURCE_RANGE

CREATORS: dict[str, Creator] = {**monitoring.CREATORS, **compute.CREATORS, **apigateway.CREATORS}


class SandboxMocks(RealisticMocks):
    """Realistic mock answers, plus real resources in the emulator for what runs."""

    def __init__(self, clients: ClientFactory) -> None:
        super().__init__()
        self.clients = clients
        self.target = MockTarget(clients, self.account_id)
        self._zone_ids: dict[str, str] = {}

    # ---- provider functions ---------------------------------------------------------------

    def call(self, args: Any) -> tuple[dict, list | None]:
        answer, failures = super().call(args)
        if args.token == "aws:route53/getZone:getZone":
            zone_id = self._hosted_zone(answer["name"])
            answer = {**answer, "zoneId": zone_id, "id": zone_id,
                      "arn": f"arn:aws:route53:::hostedzone/{zone_id}"}  # fmt: skip
        return answer, failures

    def ip_ranges(self, query: dict[str, Any]) -> dict[str, Any]:
        """The sandbox's ip-ranges: its Route 53 health checkers send from CHECKER_SOURCE_RANGE,
        so the resource policy the program builds admits them, and nothing else."""
        answer = super().ip_ranges(query)
        return {**answer, "cidrBlocks": [CHECKER_SOURCE_RANGE], "ipv6CidrBlocks": []}

    def _hosted_zone(self, name: str) -> str:
        """The public zone the program looks up must exist, as it does in the account."""
        if name not in self._zone_ids:
            route53 = self.clients("route53", "us-east-1")
            zone = route53.create_hosted_zone(Name=name, CallerReference=f"sandbox-{name}")
            self._zone_ids[name] = zone["HostedZone"]["Id"].rsplit("/", 1)[-1]
        return self._zone_ids[name]

    # ---- resources ------------------------------------------------------------------------

    def new_resource(self, args: Any) -> tuple[str | None, dict]:
        resource_id, outputs = super().new_resource(args)
        create = CREATORS.get(args.typ)
        if create is None:
            return resource_id, outputs
        region = args.region or "us-east-1"
        inputs = dict(args.inputs)  # the mock runner has unwrapped its secrets already
        real_id, real_outputs = create(self.target, inputs, region, resource_id or "", outputs)
        return real_id, {**outputs, **real_outputs}
