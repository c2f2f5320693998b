"""Change events: written to an outbox in the transaction that makes the change, then relayed."""
