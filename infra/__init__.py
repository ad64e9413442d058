"""The Pulumi program's building blocks: the components (`infra.components`), the settings they
take (`infra.settings`), what they share, and a mock runner (`infra.mockrun`) for tests and the
local sandbox."""
