"""Persistence: the DynamoDB table - run items and their moves, page tokens, the slot counter,
idempotency keys, the egress claims (one item per run and name)."""
