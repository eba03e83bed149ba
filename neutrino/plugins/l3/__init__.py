"""The L3 service plugin (``service_plugins = router``): routers, floating IPs, port forwardings."""
