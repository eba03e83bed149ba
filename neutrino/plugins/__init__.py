"""Plugins: the core plugin (ML2) and service plugins, found by entry point."""
