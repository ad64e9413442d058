"""Rehearsals of failover and fallback: players through the shared hostname, a timeline of
every request and event, the scenarios and their summaries."""
