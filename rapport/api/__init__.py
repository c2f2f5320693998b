"""HTTP endpoints of the Rapport server."""
