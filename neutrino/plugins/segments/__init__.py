"""The segments service plugin (``service_plugins = segments``): routed provider networks."""
