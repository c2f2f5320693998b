"""Rapport: a graph-native relationship intelligence server."""

__version__ = "0.1.0"
