"""Route 53 as the sandbox emulates it: record changes, health checkers, DNS answers."""
