"""The global table, the failure switches, the roles and the Lambda functions (created, not
invoked: moto needs Docker for that; the fronts run the handlers), in the emulator as declared."""

from __future__ import annotations

import io
import threading
import zipfile
from pathlib import Path
from typing import Any

import pulumi

from opsctl.sandbox.provisioning.mocks.target import Creator, MockTarget


def table(
    target: MockTarget, inputs: dict[str, Any], region: str, _id: str, outputs: dict
) -> tuple[str, dict]:
    """The table in its Region and in every replica Region, each with its own stream."""
    name = inputs["name"]
    key_schema = [{"AttributeName": inputs["hashKey"], "KeyType": "HASH"}]
    if inputs.get("rangeKey"):
        key_schema.append({"AttributeName": inputs["rangeKey"], "KeyType": "RANGE"})
    attributes = [
        {"AttributeName": a["name"], "AttributeType": a["type"]} for a in inputs["attributes"]
    ]
    regions = [region, *(replica["regionName"] for replica in inputs.get("replicas") or [])]
    stream_arn = ""
    for table_region in regions:
        dynamodb = target.clients("dynamodb", table_region)
        created = dynamodb.create_table(
            TableName=name,
            KeySchema=key_schema,
            AttributeDefinitions=attributes,
            BillingMode="PAY_PER_REQUEST",
            # Global tables replicate through the stream; the sandbox's replicator tails it.
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]
        ttl = inputs.get("ttl") or {}
        if ttl.get("enabled"):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={
                    "Enabled": True,
                    "AttributeName": ttl["attributeName"],
                },
            )
        if table_region == region:
            stream_arn = created["LatestStreamArn"]
    return name, {"streamArn": stream_arn}


def parameter(
    target: MockTarget, inputs: dict[str, Any], region: str, _id: str, _out: dict
) -> tuple[str, dict]:
    target.clients("ssm", region).put_parameter(
        Name=inputs["name"],
        Value=inputs["value"],
        Type=inputs.get("type", "String"),
        Overwrite=True,
    )
    return inputs["name"], {}


# moto's IAM backend iterates its roles while another request adds one ("dictionary changed
# size during iteration", a 500): Pulumi registers resources concurrently, so roles are created
# one at a time.
_IAM_ROLES = threading.Lock()


def role(
    target: MockTarget, inputs: dict[str, Any], region: str, _id: str, outputs: dict
) -> tuple[str, dict]:
    with _IAM_ROLES:
        created = target.clients("iam", "us-east-1").create_role(
            RoleName=outputs["name"],
            AssumeRolePolicyDocument=inputs["assumeRolePolicy"],
            Description=inputs.get("description") or "",
        )["Role"]
    return created["RoleName"], {"arn": created["Arn"]}


def function(
    target: MockTarget, inputs: dict[str, Any], region: str, _id: str, outputs: dict
) -> tuple[str, dict]:
    lambda_ = target.clients("lambda", region)
    variables = (inputs.get("environment") or {}).get("variables") or {}
    created = lambda_.create_function(
        FunctionName=inputs["name"],
        Runtime=inputs["runtime"],
        Role=inputs["role"],
        Handler=inputs["handler"],
        Code={"ZipFile": archive_zip(inputs["code"])},
        Timeout=int(inputs.get("timeout") or 3),
        MemorySize=int(inputs.get("memorySize") or 128),
        Architectures=list(inputs.get("architectures") or ["x86_64"]),
        Environment={"Variables": {k: str(v) for k, v in variables.items()}},
        Publish=bool(inputs.get("publish", False)),
    )
    reserved = inputs.get("reservedConcurrentExecutions")
    if reserved is not None and int(reserved) >= 0:  # -1: unreserved (the provider's default)
        lambda_.put_function_concurrency(
            FunctionName=inputs["name"], ReservedConcurrentExecutions=int(reserved)
        )
    arn = created["FunctionArn"]
    outputs = {"arn": arn, "invokeArn": invoke_arn(region, arn), "version": created["Version"]}
    return inputs["name"], outputs


def alias(
    target: MockTarget, inputs: dict[str, Any], region: str, _id: str, _out: dict
) -> tuple[str, dict]:
    created = target.clients("lambda", region).create_alias(
        FunctionName=inputs["functionName"],
        Name=inputs["name"],
        FunctionVersion=str(inputs["functionVersion"]),
    )
    arn = created["AliasArn"]
    return arn, {"arn": arn, "invokeArn": invoke_arn(region, arn)}


def provisioned_concurrency(
    target: MockTarget, inputs: dict[str, Any], region: str, _id: str, _out: dict
) -> tuple[str, dict]:
    target.clients("lambda", region).put_provisioned_concurrency_config(
        FunctionName=inputs["functionName"],
        Qualifier=inputs["qualifier"],
        ProvisionedConcurrentExecutions=int(inputs["provisionedConcurrentExecutions"]),
    )
    return f"{inputs['functionName']}:{inputs['qualifier']}", {}


def invoke_arn(region: str, function_arn: str) -> str:
    """What API Gateway integrations and authorizers call a Lambda function (or alias) by."""
    return (
        f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    )


def archive_zip(archive: Any) -> bytes:
    """The zip Lambda receives for a declared archive (an AssetArchive of files, or a directory
    FileArchive), so the code moto stores is the program's own `functions/` package."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        _add_to_zip(bundle, archive, "")
    return buffer.getvalue()


def _add_to_zip(bundle: zipfile.ZipFile, item: Any, prefix: str) -> None:
    if isinstance(item, pulumi.AssetArchive):
        for name, member in item.assets.items():
            _add_to_zip(bundle, member, f"{prefix}{name}")
    elif isinstance(item, pulumi.FileAsset):
        bundle.write(item.path, prefix)
    elif isinstance(item, pulumi.StringAsset):
        bundle.writestr(prefix, item.text)
    elif isinstance(item, pulumi.FileArchive) and Path(item.path).is_dir():
        root = Path(item.path)
        for path in sorted(root.rglob("*")):
            if path.is_file():
                name = path.relative_to(root).as_posix()
                bundle.write(path, f"{prefix}/{name}" if prefix else name)
    else:
        raise TypeError(f"cannot package {type(item).__name__} for Lambda")


CREATORS: dict[str, Creator] = {
    "aws:dynamodb/table:Table": table,
    "aws:ssm/parameter:Parameter": parameter,
    "aws:iam/role:Role": role,
    "aws:lambda/function:Function": function,
    "aws:lambda/alias:Alias": alias,
    "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig": (
        provisioned_concurrency
    ),
}
