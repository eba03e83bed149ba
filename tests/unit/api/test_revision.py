"""Revision numbers: every change bumps them; If-Match: revision_number=N guards writes."""

from __future__ import annotations

import pytest

from tests.unit.api.helpers import assert_error, network, ok, port, show, subnet, update


def put(client, collection, rid, revision, **attrs):
    return client.put(f"/v2.0/{collection}/{rid}", json={collection[:-1]: attrs},
                      headers={"If-Match": f"revision_number={revision}"})


def test_updates_bump_the_revision(client):
    net = network(client)
    assert net["revision_number"] == 0
    assert update(client, "networks", net["id"], name="a")["revision_number"] == 1
    assert update(client, "networks", net["id"], name="b")["revision_number"] == 2


def test_subnet_changes_bump_their_network(client):
    net = network(client)
    sub = subnet(client, net["id"], "10.120.0.0/24")
    after_create = show(client, "networks", net["id"])["revision_number"]
    assert after_create > net["revision_number"]
    ok(client.delete(f"/v2.0/subnets/{sub['id']}"), 204)
    assert show(client, "networks", net["id"])["revision_number"] > after_create


@pytest.mark.parametrize("collection", ["networks", "subnets", "ports"])
def test_if_match_on_update(client, collection):
    net = network(client)
    sub = subnet(client, net["id"], "10.121.0.0/24")
    item = {"networks": net, "subnets": sub, "ports": port(client, net["id"])}[collection]
    current = show(client, collection, item["id"])["revision_number"]
    resp = put(client, collection, item["id"], current + 5, name="stale")
    error = assert_error(resp, 412, "RevisionNumberConstraintFailed")
    assert str(current) in error["message"]
    assert show(client, collection, item["id"])["name"] != "stale"
    resp = put(client, collection, item["id"], current, name="fresh")
    assert ok(resp)[collection[:-1]]["revision_number"] == current + 1


def test_if_match_on_delete(client):
    net = network(client)
    resp = client.delete(f"/v2.0/networks/{net['id']}",
                         headers={"If-Match": "revision_number=7"})
    assert_error(resp, 412)
    show(client, "networks", net["id"])
    resp = client.delete(f"/v2.0/networks/{net['id']}",
                         headers={"If-Match": f"revision_number={net['revision_number']}"})
    assert resp.status_code == 204


@pytest.mark.parametrize("header", ["revision_number=abc",
                                    "revision_number=1, revision_number=2"])
def test_bad_if_match_is_400(client, header):
    net = network(client)
    resp = client.put(f"/v2.0/networks/{net['id']}", json={"network": {"name": "x"}},
                      headers={"If-Match": header})
    assert_error(resp, 400)


def test_other_etags_are_ignored(client):
    net = network(client)
    resp = client.put(f"/v2.0/networks/{net['id']}", json={"network": {"name": "x"}},
                      headers={"If-Match": '"some-etag"'})
    assert resp.status_code == 200


def test_sdk_if_revision(sdk, unique):
    import openstack.exceptions

    net = sdk.network.create_network(name=f"r-{unique}")
    with pytest.raises(openstack.exceptions.HttpException) as caught:
        sdk.network.update_network(net, name="x", if_revision=net.revision_number + 3)
    assert caught.value.status_code == 412
    got = sdk.network.update_network(net, name="y", if_revision=net.revision_number)
    assert got.name == "y"


def test_if_match_on_network_delete_concerns_the_network_only(client):
    """The subnet and DHCP port deleted with a network have revisions of their own."""
    net = network(client)
    sub = subnet(client, net["id"], "10.91.0.0/24")
    port(client, net["id"], device_owner="network:dhcp")
    revision = show(client, "networks", net["id"])["revision_number"]
    assert revision > sub["revision_number"]  # the subnet bumped it: they differ
    resp = client.delete(f"/v2.0/networks/{net['id']}",
                         headers={"If-Match": f"revision_number={revision}"})
    assert resp.status_code == 204, resp.text
