"""All models, imported so that ``Base.metadata`` knows every table."""

from neutrino.db.models.agent import Agent, GeneveEndpoint, GreEndpoint, VxlanEndpoint  # noqa: F401
from neutrino.db.models.allocations import (  # noqa: F401
    FlatAllocation,
    GeneveAllocation,
    GreAllocation,
    VlanAllocation,
    VxlanAllocation,
)
from neutrino.db.models.dhcp import NetworkDhcpAgentBinding, ProvisioningBlock  # noqa: F401
from neutrino.db.models.journal import JournalAttempt, JournalDependency, JournalEntry, JournalTask  # noqa: F401,E501
from neutrino.db.models.l3 import (  # noqa: F401
    FloatingIP,
    PortForwarding,
    Router,
    RouterPort,
    RouterRoute,
)
from neutrino.db.models.l3_agent import RouterExtraAttributes, RouterL3AgentBinding  # noqa: F401
from neutrino.db.models.network import Network, NetworkSegment  # noqa: F401
from neutrino.db.models.port import (  # noqa: F401
    AllowedAddressPair,
    ExtraDhcpOpt,
    IPAllocation,
    Port,
    PortBinding,
)
from neutrino.db.models.quota import Quota  # noqa: F401
from neutrino.db.models.rbac import NetworkRBAC, SecurityGroupRBAC  # noqa: F401
from neutrino.db.models.securitygroup import (  # noqa: F401
    DefaultSecurityGroup,
    SecurityGroup,
    SecurityGroupPortBinding,
    SecurityGroupRule,
)
from neutrino.db.models.securitygroup_default_rule import SecurityGroupDefaultRule  # noqa: F401
from neutrino.db.models.segment_range import NetworkSegmentRange  # noqa: F401
from neutrino.db.models.subnet import (  # noqa: F401
    DnsNameserver,
    IPAllocationPool,
    Subnet,
    SubnetRoute,
)
from neutrino.db.models.subnetpool import (  # noqa: F401
    AddressScope,
    AutoAllocatedTopology,
    DefaultExternalNetwork,
    DefaultSubnetPool,
    SubnetPool,
    SubnetPoolPrefix,
)
from neutrino.db.models.tag import Tag  # noqa: F401
