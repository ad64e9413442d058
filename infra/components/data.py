"""The DynamoDB global table: revocations, idempotency records and sessions in both Regions."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.settings.model import PARTITION, PROJECT


@dataclass(frozen=True)
class GlobalTableArgs:
    table_name: str
    replica_region: str
    deletion_protection: bool


class GlobalTable(pulumi.ComponentResource):
    """On-demand table with a replica in the secondary Region (keys `pk`/`sk`, TTL `expiresAt`)."""

    def __init__(
        self,
        name: str,
        args: GlobalTableArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(f"{PROJECT}:infra:GlobalTable", name, None, opts)
        self.table_name = args.table_name
        self.table = aws.dynamodb.Table(
            name,
            name=args.table_name,
            billing_mode="PAY_PER_REQUEST",
            hash_key="pk",
            range_key="sk",
            attributes=[
                aws.dynamodb.TableAttributeArgs(name="pk", type="S"),
                aws.dynamodb.TableAttributeArgs(name="sk", type="S"),
            ],
            stream_enabled=True,  # global tables replicate through the stream
            stream_view_type="NEW_AND_OLD_IMAGES",
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
            ttl=aws.dynamodb.TableTtlArgs(attribute_name="expiresAt", enabled=True),
            deletion_protection_enabled=args.deletion_protection,
            replicas=[
                aws.dynamodb.TableReplicaArgs(
                    region_name=args.replica_region,
                    point_in_time_recovery=True,
                    deletion_protection_enabled=args.deletion_protection,
                )
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"tableName": self.table.name, "tableArn": self.table.arn})

    def arn_in(self, region: str, account_id: pulumi.Input[str]) -> pulumi.Output[str]:
        """The table's ARN in one Region (each replica has its own)."""
        return pulumi.Output.concat(
            f"arn:{PARTITION}:dynamodb:{region}:", account_id, ":table/", self.table.name
        )
