"""opsctl: the operator CLI that shows the two-Region authorizer's state and shifts its traffic.

The command-line layer is `opsctl.cli`; everything it does is in importable core modules that take
boto3 clients (through `opsctl.aws.AwsClients`) and return dataclasses. docs/opsctl.md documents
that core API.
"""
