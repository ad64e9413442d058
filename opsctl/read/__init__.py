"""Reading a Region's state without changing anything: signals, status, readiness, DNS answers and
probes. Imports neither the change layer nor the command line."""
