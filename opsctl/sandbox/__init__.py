"""The local sandbox: the whole product on one machine, on an embedded AWS emulator.

`opsctl sandbox up | down | token | env | drill` (see docs/sandbox.md). Parts:
emulator (moto server, made faithful by motopatches), provision (the real Pulumi program under
mocks that create what runs in moto), front (an API Gateway-like front per Region, one process
each), idp (signing key + JWKS on loopback), healthcheck (Route 53-like checkers),
alarmevaluator (CloudWatch alarm evaluation), replicator (global-table replication between the
Regional tables), resolver (the shared hostname answered from the weighted records), runtime (the
background supervisor). The drills that rehearse on it live in opsctl.drill.
"""
