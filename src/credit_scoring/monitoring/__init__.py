"""Monitoring: drift of the production applications and of the API traffic, officer overrides."""
