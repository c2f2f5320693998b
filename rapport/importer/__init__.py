"""Import of CRM exports (CSV files) through a mapping file."""
