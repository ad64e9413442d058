"""The Pulumi mocks that provision the sandbox: they answer the program as Pulumi's engine would
and create in the emulator what runs."""
