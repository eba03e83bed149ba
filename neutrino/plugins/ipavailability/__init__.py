"""The network IP availability service plugin (``network_ip_availability``)."""
