"""Converters and validators for request attributes.

A converter turns wire input into the stored type or raises ``ValueError`` with a
message; a validator returns ``None`` when the value is good, else the message.
The attribute layer wraps both into Neutron's ``Invalid input for <attr>. Reason: …``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import netaddr

from neutrino import exceptions as exc

Validator = Callable[[Any], "str | None"]
Converter = Callable[[Any], Any]

MAC_RE = re.compile(r"^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


# --- converters --------------------------------------------------------------------

def to_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise ValueError(f"'{value}' cannot be converted to boolean")


def to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"'{value}' is not an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"'{value}' is not an integer") from None


def to_int_filter(value: Any) -> int:
    """An integer a database can compare with: a 64-bit one (SQLite refuses more)."""
    number = to_int(value)
    if not -2**63 <= number < 2**63:
        raise ValueError(f"'{value}' is out of range")
    return number


def to_int_or_none(value: Any) -> int | None:
    return None if value is None else to_int(value)


def to_lower_mac(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def to_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


# --- validators --------------------------------------------------------------------

def string(max_len: int | None = None) -> Validator:
    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return f"'{value}' is not a valid string"
        if max_len is not None and len(value) > max_len:
            return f"'{value}' exceeds maximum length of {max_len}"
        return None
    return check


def string_or_none(max_len: int | None = None) -> Validator:
    inner = string(max_len)
    return lambda v: None if v is None else inner(v)


def is_uuid(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"'{value}' is not a valid UUID"
    try:
        uuid.UUID(value)
    except ValueError:
        return f"'{value}' is not a valid UUID"
    return None


def uuid_or_none(value: Any) -> str | None:
    return None if value is None else is_uuid(value)


def boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else f"'{value}' is not a valid boolean value"


def in_values(*allowed: Any) -> Validator:
    def check(value: Any) -> str | None:
        if value not in allowed:
            return f"'{value}' is not in {list(allowed)}"
        return None
    return check


def int_range(lo: int, hi: int) -> Validator:
    def check(value: Any) -> str | None:
        if not isinstance(value, int) or isinstance(value, bool):
            return f"'{value}' is not an integer"
        if not lo <= value <= hi:
            return f"'{value}' is not in range {lo} through {hi}"
        return None
    return check


def int_or_none(value: Any) -> str | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return None
    return f"'{value}' is not an integer"


def mac_address(value: Any) -> str | None:
    if not isinstance(value, str) or not MAC_RE.match(value):
        return f"'{value}' is not a valid MAC address"
    if int(netaddr.EUI(value)) == 0 or value.lower() == "ff:ff:ff:ff:ff:ff":
        return f"'{value}' is not a valid MAC address"
    return None


def ip_address(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"'{value}' is not a valid IP address"
    try:
        netaddr.IPAddress(value, flags=netaddr.INET_PTON)
    except (netaddr.AddrFormatError, ValueError):
        return f"'{value}' is not a valid IP address"
    return None


def ip_address_or_none(value: Any) -> str | None:
    return None if value is None else ip_address(value)


def subnet_cidr(value: Any) -> str | None:
    """A CIDR that is a network address (``10.0.0.0/24``, not ``10.0.0.1/24``)."""
    if not isinstance(value, str) or "/" not in value:
        return f"'{value}' is not a valid IP subnet"
    try:
        net = netaddr.IPNetwork(value)
        netaddr.IPAddress(value.split("/")[0], flags=netaddr.INET_PTON)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        return f"'{value}' is not a valid IP subnet"
    if str(net.cidr) != str(net):
        return f"'{value}' isn't a recognized IP subnet cidr, '{net.cidr}' is recommended"
    return None


def ip_or_subnet_cidr(value: Any) -> str | None:
    if isinstance(value, str) and "/" in value:
        try:
            netaddr.IPNetwork(value)
            return None
        except (netaddr.AddrFormatError, ValueError):
            return f"'{value}' is not a valid IP subnet"
    return ip_address(value)


def list_of(item_check: Validator, unique: bool = True) -> Validator:
    def check(value: Any) -> str | None:
        if not isinstance(value, list):
            return f"'{value}' is not a list"
        for item in value:
            msg = item_check(item)
            if msg:
                return msg
        if unique:
            seen = [repr(v) for v in value]
            if len(set(seen)) != len(seen):
                return f"Duplicate items in the list: '{', '.join(map(str, value))}'"
        return None
    return check


def dict_with(keys: Mapping[str, tuple[bool, Validator | None]]) -> Validator:
    """A dict whose ``keys`` map to (required, validator); others are refused."""
    def check(value: Any) -> str | None:
        if not isinstance(value, dict):
            return f"'{value}' is not a dictionary"
        for key in value:
            if key not in keys:
                return f"Unrecognized key '{key}' in '{value}'"
        for key, (required, inner) in keys.items():
            if key not in value:
                if required:
                    return f"Validation of dictionary's keys failed. Expected keys: {{'{key}'}}"
                continue
            if inner is not None:
                msg = inner(value[key])
                if msg:
                    return msg
        return None
    return check


def any_dict(value: Any) -> str | None:
    return None if isinstance(value, dict) else f"'{value}' is not a dictionary"


def dict_or_none(value: Any) -> str | None:
    return None if value is None else any_dict(value)


def tag(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return f"'{value}' is not a valid tag"
    if len(value) > 255:
        return f"'{value}' exceeds maximum length of 255"
    if "," in value:
        return f"'{value}' contains a comma"
    return None


def availability_zone_hints(value: Any) -> str | None:
    """A list of unique zone names that fits Neutron's hints column as JSON.

    Too long a list is Neutron's ``InvalidInput`` as it words it, not a reason.
    """
    msg = list_of(string())(value)
    if msg:
        return msg
    if len(json.dumps(value)) > 255:
        raise exc.InvalidInput(error_message="Too many availability_zone_hints specified")
    return None
