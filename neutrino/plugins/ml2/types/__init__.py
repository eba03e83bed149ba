"""ML2 type drivers: one module per network type family."""
