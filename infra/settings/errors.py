"""The two ways a stack is refused before any resource is declared."""

from __future__ import annotations


class ConfigError(ValueError):
    """A stack setting is missing or invalid; `key` is the fully qualified config key."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"config key '{key}': {problem}")


class StackNameError(ValueError):
    """A name derived from the project and stack names would not fit an AWS limit."""

    def __init__(self, stack: str, problem: str) -> None:
        self.stack = stack
        self.problem = problem
        super().__init__(f"stack '{stack}': {problem}")
