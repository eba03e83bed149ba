"""Subnet pools, address scopes and the auto-allocated topology (service plugins)."""
