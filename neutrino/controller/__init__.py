"""Reference SDN controller: the northbound REST API the journal syncs to.

It stores networks, subnets, ports, routers, floating IPs, security groups
and rules the way OpenDaylight's neutron northbound does, refuses changes
that arrive out of dependency order, logs every request, and can be made
unreachable, slow, failing or forgetful on demand (see ``faults``).
"""

from neutrino.controller.app import DEFAULT_BASE_PATH, create_app
from neutrino.controller.cli import main
from neutrino.controller.faults import FaultInjector, FaultSettings
from neutrino.controller.northbound import Controller
from neutrino.controller.requestlog import LogEntry, RequestLog
from neutrino.controller.server import ControllerServer
from neutrino.controller.store import ResourceStore
from neutrino.controller.testing import ControllerTestApi

__all__ = [
    "DEFAULT_BASE_PATH",
    "Controller",
    "ControllerServer",
    "ControllerTestApi",
    "FaultInjector",
    "FaultSettings",
    "LogEntry",
    "RequestLog",
    "ResourceStore",
    "create_app",
    "main",
]
