"""REST API TOKEN authorizer (JWT via JWKS, revocations from the global table)."""
