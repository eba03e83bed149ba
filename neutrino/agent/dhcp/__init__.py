"""The DHCP agent: one dnsmasq per network in a ``qdhcp-<network id>`` namespace."""
