"""DHCP agent scheduling, the ``dhcp_agent_scheduler`` API and DHCP provisioning blocks."""
