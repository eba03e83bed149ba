"""Lists: filters, fields, sorting, pagination with links, and tags (API and filters)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.unit.api.helpers import (
    assert_error,
    ids,
    listing,
    network,
    ok,
    port,
    show,
)

# --- filters -----------------------------------------------------------------------


def test_repeated_values_are_ored_and_fields_anded(client, unique):
    a = network(client, name=f"a-{unique}", admin_state_up=False)
    b = network(client, name=f"b-{unique}")
    network(client, name=f"c-{unique}")
    both = listing(client, "networks", [("name", f"a-{unique}"), ("name", f"b-{unique}")])
    assert sorted(ids(both)) == sorted([a["id"], b["id"]])
    anded = listing(client, "networks", [("name", f"a-{unique}"), ("name", f"b-{unique}"),
                                         ("admin_state_up", "false")])
    assert ids(anded) == [a["id"]]
    by_id = listing(client, "networks", [("id", a["id"]), ("id", b["id"])])
    assert sorted(ids(by_id)) == sorted([a["id"], b["id"]])


def test_a_comma_in_a_filter_value_is_part_of_the_value(client, unique):
    net = network(client, name=f"x,{unique}")
    resp = client.get(f"/v2.0/networks?name=x,{unique}")
    assert ids(ok(resp)["networks"]) == [net["id"]]


def test_boolean_and_integer_filters_are_converted(client, unique):
    net = network(client, project_id=f"f-{unique}", shared=True, mtu=1400)
    network(client, project_id=f"f-{unique}")
    for params in ({"shared": "True"}, {"shared": "true"}, {"mtu": "1400"},
                   {"provider:network_type": "vxlan", "shared": "1"}):
        got = listing(client, "networks", {"project_id": f"f-{unique}", **params})
        assert ids(got) == [net["id"]], params


def test_provider_filters(client):
    net = network(client, **{"provider:network_type": "vlan",
                             "provider:physical_network": "physnet1",
                             "provider:segmentation_id": 150})
    got = listing(client, "networks", {"provider:segmentation_id": "150",
                                       "provider:physical_network": "physnet1"})
    assert ids(got) == [net["id"]]
    ok(client.delete(f"/v2.0/networks/{net['id']}"), 204)


def test_empty_value_filters_on_empty_attribute(client, unique):
    net = network(client)
    bare = port(client, net["id"])
    port(client, net["id"], device_id=f"vm-{unique}")
    got = listing(client, "ports", {"network_id": net["id"], "device_id": ""})
    assert ids(got) == [bare["id"]]


@pytest.mark.parametrize("query", ["bogus=1", "shared=maybe", "mtu=big",
                                   "revision_number=x", "security_groups=x"])
def test_bad_filters_are_400(client, query):
    assert_error(client.get(f"/v2.0/networks?{query}"), 400)


def test_fields_limit_the_attributes(client):
    net = network(client, name="fielded")
    got = ok(client.get(f"/v2.0/networks?id={net['id']}&fields=id&fields=name"))["networks"]
    assert got == [{"id": net["id"], "name": "fielded"}]
    one = ok(client.get(f"/v2.0/networks/{net['id']}?fields=mtu&fields=status"))["network"]
    assert one == {"mtu": net["mtu"], "status": "ACTIVE"}


def test_sdk_filters(sdk, unique):
    made = [sdk.network.create_network(name=f"s-{unique}-{i}") for i in range(2)]
    found = list(sdk.network.networks(name=f"s-{unique}-1"))
    assert [n.id for n in found] == [made[1].id]


# --- sorting -------------------------------------------------------------------------


def test_sort_by_one_and_two_keys(client, unique):
    project = f"sort-{unique}"
    made = [network(client, name=n, mtu=m, project_id=project)
            for n, m in (("b", 1400), ("a", 1400), ("c", 1300))]
    by_name = listing(client, "networks", [("project_id", project), ("sort_key", "name"),
                                           ("sort_dir", "desc")])
    assert [n["name"] for n in by_name] == ["c", "b", "a"]
    two = listing(client, "networks", [("project_id", project), ("sort_key", "mtu"),
                                       ("sort_dir", "desc"), ("sort_key", "name"),
                                       ("sort_dir", "asc")])
    assert [n["name"] for n in two] == ["a", "b", "c"]
    assert len(made) == 3


@pytest.mark.parametrize("query", ["sort_key=bogus&sort_dir=asc", "sort_key=name&sort_dir=up",
                                   "sort_key=name&sort_key=id&sort_dir=asc",
                                   "sort_key=tags&sort_dir=asc"])
def test_bad_sorts_are_400(client, query):
    assert_error(client.get(f"/v2.0/networks?{query}"), 400)


# --- pagination ----------------------------------------------------------------------


def links(body, collection):
    return {link["rel"]: link["href"] for link in body.get(f"{collection}_links", [])}


def follow(client, href):
    parts = urlsplit(href)
    return ok(client.get(f"{parts.path}?{parts.query}"))


def test_limit_marker_and_links_walk_every_page(client, unique):
    project = f"page-{unique}"
    made = sorted(ids([network(client, project_id=project) for _ in range(5)]))
    body = ok(client.get("/v2.0/networks", params={"project_id": project, "limit": 2}))
    seen = ids(body["networks"])
    assert seen == made[:2]
    assert set(links(body, "networks")) == {"next", "previous"}
    pages = 1
    while "next" in links(body, "networks"):
        body = follow(client, links(body, "networks")["next"])
        seen += ids(body["networks"])
        pages += 1
    assert (seen, pages) == (made, 3)
    assert set(links(body, "networks")) == {"previous"}
    back = follow(client, links(body, "networks")["previous"])
    assert ids(back["networks"]) == made[2:4]
    assert parse_qs(urlsplit(links(body, "networks")["previous"]).query)["page_reverse"] == [
        "True"]


def test_full_last_page_has_next_then_an_empty_page(client, unique):
    project = f"full-{unique}"
    made = sorted(ids([network(client, project_id=project) for _ in range(2)]))
    body = ok(client.get("/v2.0/networks", params={"project_id": project, "limit": 2}))
    assert ids(body["networks"]) == made
    empty = follow(client, links(body, "networks")["next"])
    assert empty["networks"] == [] and "next" not in links(empty, "networks")


def test_page_reverse_from_a_marker(client, unique):
    project = f"rev-{unique}"
    made = sorted(ids([network(client, project_id=project) for _ in range(5)]))
    body = ok(client.get("/v2.0/networks", params={
        "project_id": project, "limit": 2, "marker": made[3], "page_reverse": "True"}))
    assert ids(body["networks"]) == made[1:3]
    last = ok(client.get("/v2.0/networks", params={
        "project_id": project, "limit": 2, "page_reverse": "True"}))
    assert ids(last["networks"]) == made[3:]


def test_pagination_with_a_sort_key(client, unique):
    project = f"psort-{unique}"
    for name in "edcba":
        network(client, name=name, project_id=project)
    seen = []
    body = ok(client.get("/v2.0/networks", params={
        "project_id": project, "limit": 2, "sort_key": "name", "sort_dir": "asc"}))
    seen += [n["name"] for n in body["networks"]]
    while "next" in links(body, "networks"):
        body = follow(client, links(body, "networks")["next"])
        seen += [n["name"] for n in body["networks"]]
    assert seen == list("abcde")


def test_unknown_marker_is_404(client):
    resp = client.get("/v2.0/networks", params={
        "limit": 2, "marker": "6d2f8a0e-1111-2222-3333-444444444444"})
    assert_error(resp, 404)


@pytest.mark.parametrize("query", ["limit=x", "limit=-1", "page_reverse=sideways&limit=1"])
def test_bad_paging_is_400(client, query):
    assert_error(client.get(f"/v2.0/networks?{query}"), 400)


def test_sdk_paginates_through_every_page(sdk, client, unique):
    project = f"sdkpage-{unique}"
    made = {network(client, project_id=project)["id"] for _ in range(5)}
    found = {n.id for n in sdk.network.networks(project_id=project, limit=2)}
    assert found == made


# --- tags -----------------------------------------------------------------------------


@pytest.mark.parametrize("collection", ["networks", "subnets", "ports"])
def test_tags_sub_resource(client, collection):
    net = network(client)
    rid = {"networks": lambda: net["id"],
           "subnets": lambda: ok(client.post("/v2.0/subnets", json={"subnet": {
               "network_id": net["id"], "cidr": "10.90.0.0/24", "ip_version": 4}}),
               201)["subnet"]["id"],
           "ports": lambda: port(client, net["id"])["id"]}[collection]()
    base = f"/v2.0/{collection}/{rid}/tags"
    assert ok(client.put(base, json={"tags": ["b", "a"]})) == {"tags": ["a", "b"]}
    assert ok(client.get(base)) == {"tags": ["a", "b"]}
    assert client.put(f"{base}/c").status_code == 201
    assert client.get(f"{base}/c").status_code == 204
    assert_error(client.get(f"{base}/zzz"), 404, "TagNotFound")
    assert ok(client.post(base, json={"tags": ["d", "a"]})) == {"tags": ["a", "b", "c", "d"]}
    assert client.delete(f"{base}/a").status_code == 204
    assert_error(client.delete(f"{base}/a"), 404, "TagNotFound")
    assert show(client, collection, rid)["tags"] == ["b", "c", "d"]
    assert ok(client.put(base, json={"tags": ["x"]})) == {"tags": ["x"]}
    assert client.delete(base).status_code == 204
    assert ok(client.get(base)) == {"tags": []}


def test_tag_changes_bump_the_revision(client):
    net = network(client)
    client.put(f"/v2.0/networks/{net['id']}/tags/red")
    assert show(client, "networks", net["id"])["revision_number"] == net["revision_number"] + 1


def test_tag_put_is_idempotent(client):
    net = network(client)
    base = f"/v2.0/networks/{net['id']}/tags"
    assert client.put(f"{base}/same").status_code == 201
    assert client.put(f"{base}/same").status_code == 201
    assert ok(client.get(base)) == {"tags": ["same"]}


@pytest.mark.parametrize("body", [{"tags": "a"}, {"tags": [1]}, {"tags": ["x" * 256]},
                                  {"tags": [""]}, {"tag": ["a"]}, ["a"]])
def test_bad_tag_bodies_are_400(client, body):
    net = network(client)
    assert_error(client.put(f"/v2.0/networks/{net['id']}/tags", json=body), 400)


def test_overlong_tag_in_the_path_is_400(client):
    net = network(client)
    assert_error(client.put(f"/v2.0/networks/{net['id']}/tags/{'x' * 256}"), 400)


def test_tags_of_unknown_resources_are_404(client):
    missing = "6d2f8a0e-1111-2222-3333-444444444444"
    assert_error(client.get(f"/v2.0/networks/{missing}/tags"), 404)
    assert_error(client.put(f"/v2.0/networks/{missing}/tags/x"), 404)
    assert_error(client.get(f"/v2.0/widgets/{missing}/tags"), 404)


def test_tag_filters(client, unique):
    red, blue = f"red-{unique}", f"blue-{unique}"
    project = f"tags-{unique}"
    both = network(client, project_id=project)
    only_red = network(client, project_id=project)
    none = network(client, project_id=project)
    client.put(f"/v2.0/networks/{both['id']}/tags", json={"tags": [red, blue]})
    client.put(f"/v2.0/networks/{only_red['id']}/tags", json={"tags": [red]})

    def find(**params):
        got = listing(client, "networks", {"project_id": project, **params})
        return sorted(ids(got))

    assert find(tags=f"{red},{blue}") == [both["id"]]
    assert find(tags=red) == sorted([both["id"], only_red["id"]])
    assert find(**{"tags-any": f"{blue},nope"}) == [both["id"]]
    assert find(**{"not-tags": f"{red},{blue}"}) == sorted([only_red["id"], none["id"]])
    assert find(**{"not-tags-any": f"{blue},nope"}) == sorted([only_red["id"], none["id"]])
    assert find(tags=red, **{"not-tags": blue}) == [only_red["id"]]


def test_sdk_tags(sdk, unique):
    net = sdk.network.create_network(name=f"t-{unique}")
    sdk.network.set_tags(net, [f"t1-{unique}", f"t2-{unique}"])
    assert sorted(sdk.network.get_network(net.id).tags) == [f"t1-{unique}", f"t2-{unique}"]
    assert [n.id for n in sdk.network.networks(tags=[f"t1-{unique}", f"t2-{unique}"])] == [
        net.id]
    assert [n.id for n in sdk.network.networks(any_tags=[f"t2-{unique}", "x"])] == [net.id]


@pytest.mark.parametrize("key", ["gateway_ip", "ipv6_ra_mode", "ipv6_address_mode"])
def test_nullable_attributes_are_not_sort_keys(client, key):
    """A NULL cannot be a keyset marker, and backends order NULLs differently."""
    assert_error(client.get(f"/v2.0/subnets?sort_key={key}&limit=1"), 400)


def test_a_marker_the_caller_cannot_see_is_404(api_server):
    """The marker is looked up in the caller's scope: no probing for other ids."""
    with api_server.http(project="owner-x") as owner, \
            api_server.http(project="other-y") as other:
        created = owner.post("/v2.0/networks", json={"network": {"name": "h"}})
        assert created.status_code == 201, created.text
        hidden = created.json()
        resp = other.get("/v2.0/networks", params={
            "limit": 1, "marker": hidden["network"]["id"]})
        assert_error(resp, 404)
        # Its owner may page from it (shared networks of other tests may follow).
        assert owner.get("/v2.0/networks", params={
            "limit": 1, "marker": hidden["network"]["id"]}).status_code == 200
