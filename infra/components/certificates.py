"""The custom domain's ACM certificate in each Region, validated through one DNS record.

ACM asks every certificate for the same name in the same account for the same validation CNAME,
so the record is declared once and both Regions' validations name its FQDN. Were each Region to
own a copy, replacing one Region's certificate would delete the record the other still renews
with.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.aliases import former_regional_stack
from infra.providers import Providers
from infra.settings.model import PROJECT, ROLES, Role, Settings


@dataclass(frozen=True)
class DomainCertificatesArgs:
    settings: Settings
    zone_id: pulumi.Input[str]


class DomainCertificates(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        args: DomainCertificatesArgs,
        providers: Providers,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(f"{PROJECT}:infra:DomainCertificates", name, None, opts)
        settings = args.settings

        # The certificates, their validations and the record lived under each Region's
        # RegionalStack before this component owned them: aliases keep them.
        def child(role: Role) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(
                parent=self,
                provider=providers.for_role(role),
                aliases=[former_regional_stack(role)],
            )

        self.certificates: dict[Role, aws.acm.Certificate] = {
            role: aws.acm.Certificate(
                f"{role}-certificate",
                domain_name=settings.domain_name,
                validation_method="DNS",
                opts=child(role),
            )
            for role in ROLES
        }
        # Identical for both certificates; the primary's names it.
        option = self.certificates[Role.PRIMARY].domain_validation_options[0]
        self.validation_record = aws.route53.Record(
            f"{name}-validation-record",
            zone_id=args.zone_id,
            name=option.resource_record_name,
            type=option.resource_record_type,
            records=[option.resource_record_value],
            ttl=300,
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=providers.primary,  # Route 53 is global; the former copy's provider
                # Formerly the primary's copy; the secondary's copy must leave the state
                # without being deleted (docs/infra.md, caveats).
                aliases=[
                    former_regional_stack(Role.PRIMARY, "primary-certificate-validation-record")
                ],
            ),
        )
        self.certificate_arns: dict[Role, pulumi.Output[str]] = {}
        for role, certificate in self.certificates.items():
            validation = aws.acm.CertificateValidation(
                f"{role}-certificate-validation",
                certificate_arn=certificate.arn,
                validation_record_fqdns=[self.validation_record.fqdn],
                opts=child(role),
            )
            self.certificate_arns[role] = validation.certificate_arn

        self.register_outputs(
            {
                "validationRecord": self.validation_record.fqdn,
                "certificateArns": self.certificate_arns,
            }
        )
