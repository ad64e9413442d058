"""`python -m opsctl.sandbox.front SPEC_FILE --fd N ... --tls-cert PEM --tls-key PEM
--supervisor-pid PID`: one Region's front."""

from opsctl.sandbox.front.server import main

main()
