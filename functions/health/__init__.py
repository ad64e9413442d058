"""GET /health: deep checks and the Region's failure switch, for Route 53 health checks."""
