"""The one exception tree: every API-visible error, with its message and HTTP status.

The API layer turns these into Neutron's ``{"NeutronError": {...}}`` bodies in one
place (``neutrino.api.errors``); nothing else formats error responses. Class names
are part of the wire format (``NeutronError.type``), so they follow Neutron's.
"""

from __future__ import annotations

from typing import Any


class NeutronException(Exception):
    """Base of every error the API reports; ``message`` is a %-template of kwargs."""

    message = "An unknown exception occurred."
    status = 500

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        try:
            self.msg = self.message % kwargs
        except (KeyError, TypeError):
            # A template/kwargs mismatch is our bug; never let it hide the real error.
            self.msg = self.message
        super().__init__(self.msg)

    def __str__(self) -> str:
        return self.msg


class BadRequest(NeutronException):
    message = "Bad %(resource)s request: %(msg)s."
    status = 400


class HTTPBadRequest(BadRequest):
    """A 400 whose message is given whole (Neutron answers these from webob)."""

    message = "%(msg)s"


class InvalidInput(BadRequest):
    message = "Invalid input for operation: %(error_message)s."


class NotAuthorized(NeutronException):
    message = "Not authorized."
    status = 403


class PolicyNotAuthorized(NotAuthorized):
    message = "(rule:%(action)s) is disallowed by policy"


class NotFound(NeutronException):
    message = "%(resource)s %(id)s could not be found."
    status = 404


class Conflict(NeutronException):
    message = "%(msg)s"
    status = 409


class InUse(Conflict):
    message = "The resource is in use."


class PreconditionFailed(NeutronException):
    message = "Constrained to %(constraint)s, but current value is %(current)s."
    status = 412


class ServiceUnavailable(NeutronException):
    message = "The service is unavailable."
    status = 503


class NotImplementedByPlugin(NeutronException):
    message = "%(action)s is not implemented."
    status = 501


# --- resources not found -----------------------------------------------------------


class NetworkNotFound(NotFound):
    message = "Network %(net_id)s could not be found."


class SubnetNotFound(NotFound):
    message = "Subnet %(subnet_id)s could not be found."


class PortNotFound(NotFound):
    message = "Port %(port_id)s could not be found."


class ExtensionNotFound(NotFound):
    message = "Extension with alias %(alias)s does not exist"


class ResourceNotFound(NotFound):
    message = "The resource could not be found."


class TagNotFound(NotFound):
    message = "Tag %(tag)s could not be found for %(resource)s %(resource_id)s."


_NOT_FOUND: dict[str, tuple[type[NotFound], str]] = {
    "network": (NetworkNotFound, "net_id"),
    "subnet": (SubnetNotFound, "subnet_id"),
    "port": (PortNotFound, "port_id"),
}


def register_not_found(member: str, cls: type[NotFound], key: str) -> None:
    """Have ``not_found(member, id)`` raise ``cls(key=id)`` (a service plugin's type)."""
    _NOT_FOUND[member] = (cls, key)


def not_found(member: str, resource_id: str) -> NotFound:
    """The 404 Neutron gives for a missing ``member`` (``NetworkNotFound`` …).

    Also what a resource the caller may not see looks like, so its existence
    does not leak.
    """
    if member in _NOT_FOUND:
        cls, key = _NOT_FOUND[member]
        return cls(**{key: resource_id})
    return NotFound(resource=member.replace("_", " ").capitalize(), id=resource_id)


# --- conflicts ----------------------------------------------------------------------


class NetworkInUse(InUse):
    message = (
        "Unable to complete operation on network %(net_id)s. "
        "There are one or more ports still in use on the network."
    )


class SubnetInUse(InUse):
    message = (
        "Unable to complete operation on subnet %(subnet_id)s: %(reason)s."
    )


class IpAddressAlreadyAllocated(Conflict):
    message = "IP address %(ip)s already allocated in subnet %(subnet_id)s"


class IpAddressInUse(InUse):
    message = (
        "Unable to complete operation for network %(net_id)s. "
        "The IP address %(ip_address)s is in use."
    )


class MacAddressInUse(InUse):
    message = (
        "Unable to complete operation for network %(net_id)s. "
        "The mac address %(mac)s is in use."
    )


class IpAddressGenerationFailure(Conflict):
    message = "No more IP addresses available on network %(net_id)s."


class VlanIdInUse(InUse):
    message = (
        "Unable to create the network. The VLAN %(vlan_id)s on physical network "
        "%(physical_network)s is in use."
    )


class FlatNetworkInUse(InUse):
    message = (
        "Unable to create the flat network. Physical network %(physical_network)s is in use."
    )


class TunnelIdInUse(InUse):
    message = "Unable to create the network. The tunnel ID %(tunnel_id)s is in use."


class NoNetworkAvailable(ServiceUnavailable):
    message = (
        "Unable to create the network. No tenant network is available for allocation."
    )


# --- bad requests -------------------------------------------------------------------


class InvalidAllocationPool(BadRequest):
    message = "The allocation pool %(pool)s is not valid."


class OverlappingAllocationPools(Conflict):
    message = (
        "Found overlapping allocation pools: %(pool_1)s %(pool_2)s for subnet %(subnet_cidr)s."
    )


class OutOfBoundsAllocationPool(BadRequest):
    message = (
        "The allocation pool %(pool)s spans beyond the subnet cidr %(subnet_cidr)s."
    )


class GatewayConflictWithAllocationPools(InUse):
    message = "Gateway ip %(ip_address)s conflicts with allocation pool %(pool)s."


class InvalidIpForSubnet(BadRequest):
    message = "IP address %(ip_address)s is not a valid IP for the specified subnet."


class InvalidIpForNetwork(BadRequest):
    message = ("IP address %(ip_address)s is not a valid IP for any of the subnets on the "
               "specified network.")


class InvalidSharedSetting(Conflict):
    message = ("Unable to reconfigure sharing settings for network %(network)s. Multiple "
               "tenants are using it.")


class InvalidRevisionNumberHeader(BadRequest):
    message = "%(msg)s"


class RevisionNumberConstraintFailed(PreconditionFailed):
    pass


class MechanismDriverError(NeutronException):
    message = "%(method)s failed."


class PortBindingError(NeutronException):
    message = "Binding for port %(port_id)s on host %(host)s failed."
