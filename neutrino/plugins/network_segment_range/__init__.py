"""The network segment range service plugin (``service_plugins = network_segment_range``)."""
