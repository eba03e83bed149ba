"""initial schema: networks, subnets, ports, segments

Revision ID: 0001_initial
Revises: (none)
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "ml2_flat_allocations",
        sa.Column("physical_network", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("physical_network", name=op.f("pk_ml2_flat_allocations")),
    )
    op.create_table(
        "ml2_geneve_allocations",
        sa.Column("geneve_vni", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("geneve_vni", name=op.f("pk_ml2_geneve_allocations")),
    )
    op.create_table(
        "ml2_gre_allocations",
        sa.Column("gre_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("gre_id", name=op.f("pk_ml2_gre_allocations")),
    )
    op.create_table(
        "ml2_vlan_allocations",
        sa.Column("physical_network", sa.String(length=64), nullable=False),
        sa.Column("vlan_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint(
            "physical_network", "vlan_id", name=op.f("pk_ml2_vlan_allocations")
        ),
    )
    op.create_table(
        "ml2_vxlan_allocations",
        sa.Column("vxlan_vni", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("vxlan_vni", name=op.f("pk_ml2_vxlan_allocations")),
    )
    op.create_table(
        "networks",
        sa.Column("admin_state_up", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("router_external", sa.Boolean(), nullable=False),
        sa.Column("mtu", sa.Integer(), nullable=False),
        sa.Column("port_security_enabled", sa.Boolean(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("revision_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_networks")),
    )
    with op.batch_alter_table("networks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_networks_project_id"), ["project_id"], unique=False)

    op.create_table(
        "tags",
        sa.Column("resource_id", sa.String(length=36), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("resource_id", "tag", name=op.f("pk_tags")),
    )
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tags_resource_type"), ["resource_type"], unique=False)

    op.create_table(
        "networksegments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("network_type", sa.String(length=32), nullable=False),
        sa.Column("physical_network", sa.String(length=64), nullable=True),
        sa.Column("segmentation_id", sa.BigInteger(), nullable=True),
        sa.Column("segment_index", sa.Integer(), nullable=False),
        sa.Column("is_dynamic", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["networks.id"],
            name=op.f("fk_networksegments_network_id_networks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_networksegments")),
        sa.UniqueConstraint(
            "network_id", "segment_index", name=op.f("uq_networksegments_network_id_segment_index")
        ),
    )
    with op.batch_alter_table("networksegments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_networksegments_network_id"), ["network_id"], unique=False
        )

    op.create_table(
        "ports",
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("mac_address", sa.String(length=32), nullable=False),
        sa.Column("admin_state_up", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("device_id", sa.String(length=255), nullable=False),
        sa.Column("device_owner", sa.String(length=255), nullable=False),
        sa.Column("port_security_enabled", sa.Boolean(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("revision_number", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name=op.f("fk_ports_network_id_networks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ports")),
        sa.UniqueConstraint(
            "network_id", "mac_address", name=op.f("uq_ports_network_id_mac_address")
        ),
    )
    with op.batch_alter_table("ports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ports_device_id"), ["device_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ports_network_id"), ["network_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ports_project_id"), ["project_id"], unique=False)

    op.create_table(
        "subnets",
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("ip_version", sa.Integer(), nullable=False),
        sa.Column("cidr", sa.String(length=64), nullable=False),
        sa.Column("gateway_ip", sa.String(length=64), nullable=True),
        sa.Column("enable_dhcp", sa.Boolean(), nullable=False),
        sa.Column("ipv6_ra_mode", sa.String(length=16), nullable=True),
        sa.Column("ipv6_address_mode", sa.String(length=16), nullable=True),
        sa.Column("subnetpool_id", sa.String(length=36), nullable=True),
        sa.Column("segment_id", sa.String(length=36), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("revision_number", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], name=op.f("fk_subnets_network_id_networks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subnets")),
    )
    with op.batch_alter_table("subnets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subnets_network_id"), ["network_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_subnets_project_id"), ["project_id"], unique=False)

    op.create_table(
        "allowedaddresspairs",
        sa.Column("port_id", sa.String(length=36), nullable=False),
        sa.Column("mac_address", sa.String(length=32), nullable=False),
        sa.Column("ip_address", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["port_id"],
            ["ports.id"],
            name=op.f("fk_allowedaddresspairs_port_id_ports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "port_id", "mac_address", "ip_address", name=op.f("pk_allowedaddresspairs")
        ),
    )
    op.create_table(
        "dnsnameservers",
        sa.Column("subnet_id", sa.String(length=36), nullable=False),
        sa.Column("address", sa.String(length=128), nullable=False),
        sa.Column("order", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subnet_id"],
            ["subnets.id"],
            name=op.f("fk_dnsnameservers_subnet_id_subnets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("subnet_id", "address", name=op.f("pk_dnsnameservers")),
    )
    op.create_table(
        "extradhcpopts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("port_id", sa.String(length=36), nullable=False),
        sa.Column("opt_name", sa.String(length=64), nullable=False),
        sa.Column("opt_value", sa.String(length=255), nullable=False),
        sa.Column("ip_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["port_id"],
            ["ports.id"],
            name=op.f("fk_extradhcpopts_port_id_ports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_extradhcpopts")),
        sa.UniqueConstraint(
            "port_id",
            "opt_name",
            "ip_version",
            name=op.f("uq_extradhcpopts_port_id_opt_name_ip_version"),
        ),
    )
    with op.batch_alter_table("extradhcpopts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_extradhcpopts_port_id"), ["port_id"], unique=False)

    op.create_table(
        "ipallocationpools",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("subnet_id", sa.String(length=36), nullable=False),
        sa.Column("first_ip", sa.String(length=64), nullable=False),
        sa.Column("last_ip", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["subnet_id"],
            ["subnets.id"],
            name=op.f("fk_ipallocationpools_subnet_id_subnets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ipallocationpools")),
    )
    with op.batch_alter_table("ipallocationpools", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ipallocationpools_subnet_id"), ["subnet_id"], unique=False
        )

    op.create_table(
        "ipallocations",
        sa.Column("ip_address", sa.String(length=64), nullable=False),
        sa.Column("subnet_id", sa.String(length=36), nullable=False),
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("port_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["port_id"],
            ["ports.id"],
            name=op.f("fk_ipallocations_port_id_ports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subnet_id"],
            ["subnets.id"],
            name=op.f("fk_ipallocations_subnet_id_subnets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ip_address", "subnet_id", name=op.f("pk_ipallocations")),
    )
    with op.batch_alter_table("ipallocations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ipallocations_network_id"), ["network_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ipallocations_port_id"), ["port_id"], unique=False)

    op.create_table(
        "ml2_port_bindings",
        sa.Column("port_id", sa.String(length=36), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("vnic_type", sa.String(length=64), nullable=False),
        sa.Column("vif_type", sa.String(length=64), nullable=False),
        sa.Column("vif_details", sa.Text(), nullable=False),
        sa.Column("profile", sa.Text(), nullable=False),
        sa.Column("segment_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["port_id"],
            ["ports.id"],
            name=op.f("fk_ml2_port_bindings_port_id_ports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("port_id", name=op.f("pk_ml2_port_bindings")),
    )
    with op.batch_alter_table("ml2_port_bindings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ml2_port_bindings_host"), ["host"], unique=False)

    op.create_table(
        "subnetroutes",
        sa.Column("subnet_id", sa.String(length=36), nullable=False),
        sa.Column("destination", sa.String(length=64), nullable=False),
        sa.Column("nexthop", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["subnet_id"],
            ["subnets.id"],
            name=op.f("fk_subnetroutes_subnet_id_subnets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "subnet_id", "destination", "nexthop", name=op.f("pk_subnetroutes")
        ),
    )


def downgrade() -> None:

    op.drop_table("subnetroutes")
    with op.batch_alter_table("ml2_port_bindings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ml2_port_bindings_host"))

    op.drop_table("ml2_port_bindings")
    with op.batch_alter_table("ipallocations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ipallocations_port_id"))
        batch_op.drop_index(batch_op.f("ix_ipallocations_network_id"))

    op.drop_table("ipallocations")
    with op.batch_alter_table("ipallocationpools", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ipallocationpools_subnet_id"))

    op.drop_table("ipallocationpools")
    with op.batch_alter_table("extradhcpopts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_extradhcpopts_port_id"))

    op.drop_table("extradhcpopts")
    op.drop_table("dnsnameservers")
    op.drop_table("allowedaddresspairs")
    with op.batch_alter_table("subnets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subnets_project_id"))
        batch_op.drop_index(batch_op.f("ix_subnets_network_id"))

    op.drop_table("subnets")
    with op.batch_alter_table("ports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ports_project_id"))
        batch_op.drop_index(batch_op.f("ix_ports_network_id"))
        batch_op.drop_index(batch_op.f("ix_ports_device_id"))

    op.drop_table("ports")
    with op.batch_alter_table("networksegments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_networksegments_network_id"))

    op.drop_table("networksegments")
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tags_resource_type"))

    op.drop_table("tags")
    with op.batch_alter_table("networks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_networks_project_id"))

    op.drop_table("networks")
    op.drop_table("ml2_vxlan_allocations")
    op.drop_table("ml2_vlan_allocations")
    op.drop_table("ml2_gre_allocations")
    op.drop_table("ml2_geneve_allocations")
    op.drop_table("ml2_flat_allocations")
