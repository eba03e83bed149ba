"""Resource definitions shared by the API and the plugins (as neutron-lib's api.definitions).

Attribute maps, validators and converters live here, below both ``neutrino.api`` and
``neutrino.plugins``: a plugin declares the resources it serves without importing the
web layer, and the web layer drives validation, policy and listing from the same maps.
"""
