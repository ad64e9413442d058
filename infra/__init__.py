"""The Pulumi program's building blocks: typed settings, one ComponentResource per concern,
the Lambda packaging, and a mock runner (`infra.mockrun`) for tests and the local sandbox."""
