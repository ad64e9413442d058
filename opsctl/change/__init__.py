"""Changing where traffic goes, and recording it: failover and fallback plans and their
application (weights or lever), the failure switch, revocations and the audit log. Reads through
the read layer; never imports the command line."""
