"""A router's iptables rules, compiled purely from the router (Neutron's chains and rules).

Chains carry Neutron's L3 agent names (``neutron-l3-agent-<chain>``,
``neutron-filter-top``, ``neutron-postrouting-bottom``) so operators' runbooks keep
working. What the tables do for a legacy router:

* nat PREROUTING: the metadata redirect of ``169.254.169.254:80`` arriving on a ``qr-``
  device to the proxy's port, port forwardings (fip, protocol, external port) -> (internal
  ip, internal port), then each floating IP's DNAT to its fixed IP; nat OUTPUT: the same
  floating-IP DNATs for traffic of the namespace itself.
* nat POSTROUTING: traffic not leaving by the gateway and not DNATed is accepted as is
  (east-west is never translated); then ``neutron-postrouting-bottom`` -> ``snat``:
  ``float-snat`` (each fixed IP with a floating IP leaves from it), and with
  ``enable_snat`` everything else leaving by the gateway, and DNATed traffic that did not
  come in from outside, takes the gateway address.
* mangle: packets coming in on the gateway are marked ``external_ingress_mark``; valid
  metadata requests ``metadata_access_mark``, which filter INPUT accepts while dropping
  any other traffic to the proxy's port.

Rules are spelled as ``iptables-save`` prints them, so a diff with the installed rules
is a plain comparison (see ``iptables``).
"""

from __future__ import annotations

from dataclasses import dataclass

from neutrino.agent.l3.iptables import Tables
from neutrino.agent.l3.model import FloatingIp, PortForwarding

WRAP = "neutron-l3-agent-"
FILTER_TOP = "neutron-filter-top"
POSTROUTING_BOTTOM = "neutron-postrouting-bottom"
METADATA_CIDR = "169.254.169.254/32"
MARK_MASK = 0xFFFF


def chain(name: str) -> str:
    """``neutron-l3-agent-<name>``."""
    return WRAP + name


@dataclass(frozen=True)
class NatSettings:
    metadata: bool = True  # the metadata redirect and its filter rules
    metadata_port: int = 9697
    metadata_access_mark: int = 0x1
    external_ingress_mark: int = 0x2


@dataclass(frozen=True)
class NatInputs:
    """What the rules are made of, already resolved from the router."""

    gateway_device: str | None  # qg-…, None without a gateway
    gateway_ip: str | None  # the IPv4 gateway address (SNAT source)
    enable_snat: bool
    floating_ips: tuple[FloatingIp, ...]  # associated IPv4 floating IPs
    port_forwardings: tuple[PortForwarding, ...]


def _mark(value: int) -> str:
    return f"{value:#x}/{MARK_MASK:#x}"


def compile_rules(inputs: NatInputs, settings: NatSettings) -> Tables:
    """Every own chain and jump of the router's namespace, in filter, mangle and nat."""
    return {"filter": _filter(settings), "mangle": _mangle(inputs, settings),
            "nat": _nat(inputs, settings)}


def _filter(settings: NatSettings) -> dict[str, tuple[str, ...]]:
    metadata = (f"-m mark --mark {_mark(settings.metadata_access_mark)} -j ACCEPT",
                f"-p tcp -m tcp --dport {settings.metadata_port} -j DROP")
    return {
        "INPUT": (f"-j {chain('INPUT')}",),
        "FORWARD": (f"-j {FILTER_TOP}", f"-j {chain('FORWARD')}"),
        "OUTPUT": (f"-j {FILTER_TOP}", f"-j {chain('OUTPUT')}"),
        FILTER_TOP: (f"-j {chain('local')}",),
        chain("local"): (),
        chain("INPUT"): metadata if settings.metadata else (),
        chain("FORWARD"): (),
        chain("OUTPUT"): (),
    }


def _mangle(inputs: NatInputs, settings: NatSettings) -> dict[str, tuple[str, ...]]:
    prerouting = [f"-j {chain('mark')}"]
    if settings.metadata:
        prerouting.append(f"-d {METADATA_CIDR} -i qr-+ -p tcp -m tcp --dport 80 "
                          f"-j MARK --set-xmark {_mark(settings.metadata_access_mark)}")
    mark: tuple[str, ...] = ()
    if inputs.gateway_device:
        mark = (f"-i {inputs.gateway_device} -j MARK --set-xmark "
                f"{_mark(settings.external_ingress_mark)}",)
    return {"PREROUTING": (f"-j {chain('PREROUTING')}",),
            chain("PREROUTING"): tuple(prerouting), chain("mark"): mark}


def _nat(inputs: NatInputs, settings: NatSettings) -> dict[str, tuple[str, ...]]:
    prerouting: list[str] = []
    if settings.metadata:
        prerouting.append(f"-d {METADATA_CIDR} -i qr-+ -p tcp -m tcp --dport 80 "
                          f"-j REDIRECT --to-ports {settings.metadata_port}")
    gateway = inputs.gateway_device
    fips = inputs.floating_ips if gateway else ()
    forwardings = inputs.port_forwardings if gateway else ()
    prerouting += [_port_forwarding(pf) for pf in forwardings]
    dnat = [f"-d {fip.floating_ip_address}/32 -j DNAT --to-destination "
            f"{fip.fixed_ip_address}" for fip in fips]
    postrouting: tuple[str, ...] = ()
    snat = [f"-j {chain('float-snat')}"]
    if gateway:
        postrouting = (f"! -o {gateway} -m conntrack ! --ctstate DNAT -j ACCEPT",)
        if inputs.enable_snat and inputs.gateway_ip:
            snat += [f"-o {gateway} -j SNAT --to-source {inputs.gateway_ip}",
                     f"-m mark ! --mark {_mark(settings.external_ingress_mark)} "
                     f"-m conntrack --ctstate DNAT -j SNAT --to-source {inputs.gateway_ip}"]
    return {
        "PREROUTING": (f"-j {chain('PREROUTING')}",),
        "OUTPUT": (f"-j {chain('OUTPUT')}",),
        "POSTROUTING": (f"-j {chain('POSTROUTING')}", f"-j {POSTROUTING_BOTTOM}"),
        chain("PREROUTING"): (*prerouting, *dnat),
        chain("OUTPUT"): tuple(dnat),
        chain("POSTROUTING"): postrouting,
        POSTROUTING_BOTTOM: (f"-j {chain('snat')}",),
        chain("snat"): tuple(snat),
        chain("float-snat"): tuple(f"-s {fip.fixed_ip_address}/32 -j SNAT --to-source "
                                   f"{fip.floating_ip_address}" for fip in fips),
    }


def _port_forwarding(pf: PortForwarding) -> str:
    return (f"-d {pf.floating_ip_address}/32 -p {pf.protocol} -m {pf.protocol} "
            f"--dport {pf.external_port} -j DNAT --to-destination "
            f"{pf.internal_ip_address}:{pf.internal_port}")
