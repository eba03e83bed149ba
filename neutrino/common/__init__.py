"""Small shared helpers with no layer of their own."""
