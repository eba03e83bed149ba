"""The northbound Neutron v2.0 REST API (Falcon WSGI)."""
