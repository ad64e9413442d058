"""The sandbox supervisor: its background process, the processes it starts, and their lifecycle."""
