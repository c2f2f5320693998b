"""Versioned Cypher migrations and their runner."""
