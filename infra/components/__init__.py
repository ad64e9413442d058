"""The program's ComponentResources, one per concern, each with its args dataclass."""
