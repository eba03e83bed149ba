"""Smoke: the API answers, on every backend, through openstacksdk."""


def test_network_subnet_port_roundtrip(sdk, unique):
    net = sdk.network.create_network(name=f"net-{unique}")
    subnet = sdk.network.create_subnet(network_id=net.id, cidr="10.9.0.0/24", ip_version=4)
    port = sdk.network.create_port(network_id=net.id)
    assert port.fixed_ips[0]["subnet_id"] == subnet.id
    assert sdk.network.get_network(net.id).subnet_ids == [subnet.id]
    sdk.network.delete_port(port.id)
    sdk.network.delete_subnet(subnet.id)
    sdk.network.delete_network(net.id)
    assert sdk.network.find_network(net.id) is None
