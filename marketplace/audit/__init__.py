"""The audit trail: append-only, hash-chained events that every domain records.

The lowest domain package: it imports no other, so any package may record an event."""
