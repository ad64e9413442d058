"""The local sandbox: the whole product on one machine, on an embedded AWS emulator."""
