"""What every device-facing agent (OVS, DHCP, L3, metadata) shares."""
