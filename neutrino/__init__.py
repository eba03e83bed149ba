"""Neutrino: a Neutron-compatible SDN control plane for Open vSwitch."""

__version__ = "0.1.0"
