"""Contracts shared by the services of one site (task specs, events, control messages)."""
