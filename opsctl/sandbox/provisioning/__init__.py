"""Provisioning the emulator from the real Pulumi program, with the mocks that create what runs."""
