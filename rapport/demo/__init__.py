"""The demo CRM graph: a reproducible, realistic graph with planted ground truth."""
