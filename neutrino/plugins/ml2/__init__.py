"""ML2, the modular layer 2 core plugin."""
