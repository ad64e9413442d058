"""opsctl: the operator CLI that shows the two-Region authorizer's state and shifts its traffic.

Three layers, one folder each: `opsctl.cli` (the commands, the plan -> approve -> apply flow and
all terminal output), `opsctl.read` (what a Region's signals, status, readiness, DNS answers and
probes say) and `opsctl.change` (plans and their application: weights, lever, switch, revocation,
audit). The core layers take boto3 clients (through `opsctl.aws.AwsClients`) and return
dataclasses; docs/opsctl.md documents that core API.
"""
