"""The REST API of device keys, key versions, envelopes and the recovery
backup (docs/api.md, "End-to-end encryption")."""
