"""What every component takes: the stack's settings, read and checked before any resource exists."""
