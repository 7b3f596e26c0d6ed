"""Durable storage: the delivery queue and the incident records."""
