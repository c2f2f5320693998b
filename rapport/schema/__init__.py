"""The CRM property-graph model: labels, relationship types, typed properties."""
