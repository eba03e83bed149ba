"""The quotas service plugin: per-project limits, enforced inside creating transactions."""
