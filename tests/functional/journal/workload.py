"""A mixed create/update/delete workload through the API, and what the controller
should then have seen: every write once, each after the writes it depends on."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

Write = tuple[str, str, str]  # (HTTP method, object_type, id)


@dataclasses.dataclass
class Expected:
    writes: list[Write] = dataclasses.field(default_factory=list)
    parents: dict[str, list[str]] = dataclasses.field(default_factory=dict)

    def add(self, method: str, object_type: str, rid: str) -> None:
        self.writes.append((method, object_type, rid))


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code < 300, response.text
    return response.json() if response.content else {}


def create_topology(url: str, expected: Expected, networks: int, ports_per_net: int,
                    prefix: str = "w", workers: int = 4) -> dict[str, list[dict[str, Any]]]:
    """Networks, one subnet each, ``ports_per_net`` ports each (bulk, in parallel)."""
    with httpx.Client(base_url=url, timeout=60) as http:
        nets = [_ok(http.post("/v2.0/networks", json={"network": {"name": f"{prefix}{i}"}}))
                ["network"] for i in range(networks)]
        subnets = [_ok(http.post("/v2.0/subnets", json={"subnet": {
            "network_id": n["id"], "ip_version": 4, "cidr": f"10.{i // 250}.{i % 250}.0/24",
            "name": f"{prefix}s{i}"}}))["subnet"] for i, n in enumerate(nets)]
    for n in nets:
        expected.add("POST", "network", n["id"])
    for s in subnets:
        expected.add("POST", "subnet", s["id"])
        expected.parents[s["id"]] = [s["network_id"]]

    def ports_of(net: dict[str, Any]) -> list[dict[str, Any]]:
        made: list[dict[str, Any]] = []
        with httpx.Client(base_url=url, timeout=60) as http:
            for start in range(0, ports_per_net, 16):
                body = {"ports": [{"network_id": net["id"], "name": f"{prefix}p{start + k}"}
                                  for k in range(min(16, ports_per_net - start))]}
                made.extend(_ok(http.post("/v2.0/ports", json=body))["ports"])
        return made

    with ThreadPoolExecutor(workers) as pool:
        ports = [p for chunk in pool.map(ports_of, nets) for p in chunk]
    for p in ports:
        expected.add("POST", "port", p["id"])
        expected.parents[p["id"]] = [p["network_id"], *(ip["subnet_id"]
                                                        for ip in p["fixed_ips"])]
    return {"networks": nets, "subnets": subnets, "ports": ports}


def churn(url: str, expected: Expected, topo: dict[str, list[dict[str, Any]]],
          updates: int, deletes: int, drop_networks: int) -> None:
    """Update ports (some twice) and networks, delete ports, then whole networks."""
    ports, nets = topo["ports"], topo["networks"]
    doomed_nets = {n["id"] for n in nets[:drop_networks]}
    with httpx.Client(base_url=url, timeout=60) as http:
        for rnd in (1, 2):
            for p in ports[:updates // rnd]:
                _ok(http.put(f"/v2.0/ports/{p['id']}", json={"port": {"name": f"u{rnd}"}}))
                expected.add("PUT", "port", p["id"])
        for n in nets[-5:]:
            _ok(http.put(f"/v2.0/networks/{n['id']}", json={"network": {"name": "renamed"}}))
            expected.add("PUT", "network", n["id"])
        gone = ports[:deletes] + [p for p in ports[deletes:] if p["network_id"] in doomed_nets]
        for p in gone:
            _ok(http.delete(f"/v2.0/ports/{p['id']}"))
            expected.add("DELETE", "port", p["id"])
        for s in topo["subnets"]:
            if s["network_id"] in doomed_nets:
                expected.add("DELETE", "subnet", s["id"])
        for nid in doomed_nets:
            _ok(http.delete(f"/v2.0/networks/{nid}"))
            expected.add("DELETE", "network", nid)


def order_violations(applied: list[Write], parents: dict[str, list[str]]) -> list[str]:
    """Writes that reached the controller before a write they depend on."""
    at: dict[Write, list[int]] = defaultdict(list)
    for i, w in enumerate(applied):
        at[w].append(i)
    kinds = {rid: t for _, t, rid in applied}
    problems = []
    for i, (method, object_type, rid) in enumerate(applied):
        if method == "POST":
            for parent in parents.get(rid, []):
                if not any(j < i for j in at[("POST", kinds.get(parent, ""), parent)]):
                    problems.append(f"POST {object_type} {rid} before its parent {parent}")
        if method in ("PUT", "DELETE") and not any(
                j < i for j in at[("POST", object_type, rid)]):
            problems.append(f"{method} {object_type} {rid} before its POST")
        if method == "DELETE":
            children = [c for c, ps in parents.items() if rid in ps]
            for child in children:
                if any(j > i for j in at[("DELETE", kinds.get(child, ""), child)]):
                    problems.append(f"DELETE {object_type} {rid} before child {child}")
    return problems


def implicit_security_groups(url: str) -> Expected:
    """The project's default group and its rules, made by its first network: journaled
    once (by whichever server made it), each rule after its group."""
    implicit = Expected()
    with httpx.Client(base_url=url, timeout=60) as http:
        groups = http.get("/v2.0/security-groups").json()["security_groups"]
    for group in groups:
        implicit.add("POST", "security_group", group["id"])
        for rule in group["security_group_rules"]:
            implicit.add("POST", "security_group_rule", rule["id"])
            implicit.parents[rule["id"]] = [group["id"]]
    return implicit
