"""The IAM policy whoever runs `pulumi up` / `pulumi destroy` needs, and nothing more:
`python -m infra.deploy_policy Pulumi.<stack>.yaml > deploy-policy.json`.

One grant (`grant.py`) per kind of resource the program declares (the Pulumi resource types it
covers, the IAM actions the AWS provider calls to create, read (refresh), update, tag and delete
one, and the ARNs it may touch), plus one per provider function the program calls; one module of
grants per group of AWS services. The document is built from a run of the program under mocks
(`policy.py`), so it names exactly the Regions and the app of that stack and only the grants of
the resources that stack declares; tests/infra/deploy_policy/test_policy.py fails when the
program declares a type no grant covers, when a grant covers nothing, or when a declared
resource's ARN is outside its grant's resources.
"""
