"""The L3 agent: legacy routers in qrouter namespaces, NAT through iptables."""
