"""The agent's own iptables chains in a namespace: parsed, diffed, applied atomically.

A router's rules are held as ``Tables``: table -> chain -> rule specs (what follows
``-A <chain>`` in ``iptables-save``). Chains named ``neutron-*`` belong to the agent;
in a built-in chain (PREROUTING, …) only the rules jumping to an own chain do. What the
compiler renders is in the exact form ``iptables-save`` prints (``-p tcp -m tcp``,
``/32``, ``--set-xmark``), so equal means equal text.

:func:`restore_script` turns (desired, installed) into one ``iptables-restore --noflush``
input that rewrites only the chains that differ (declaring a chain flushes it), moves the
jumps of built-in chains to the top and deletes own chains no longer wanted; it is empty
when nothing differs, and then nothing is run: rule counters and conntrack-visible state
stay as they are. :class:`NamespaceIptables` is the thin adapter running ``iptables-save``
and ``iptables-restore`` inside a namespace (each table is one atomic transaction).
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping

Chains = dict[str, tuple[str, ...]]
Tables = dict[str, Chains]

OWN_PREFIX = "neutron-"
BUILTIN_CHAINS = frozenset({"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"})
TABLES = ("filter", "mangle", "nat")


class IptablesError(RuntimeError):
    """iptables-save or iptables-restore failed in a namespace."""


def is_own_chain(chain: str) -> bool:
    return chain.startswith(OWN_PREFIX)


def _is_own_jump(rule: str) -> bool:
    parts = rule.split()
    return any(a in ("-j", "-g") and i + 1 < len(parts) and is_own_chain(parts[i + 1])
               for i, a in enumerate(parts))


def parse_save(text: str) -> Tables:
    """The agent's part of ``iptables-save`` output (counters, if any, dropped)."""
    tables: Tables = {}
    chains: Chains | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("[") and "] " in line:  # iptables-save -c: "[pkts:bytes] -A …"
            line = line.split("] ", 1)[1]
        if line.startswith("*"):
            chains = tables.setdefault(line[1:], {})
        elif chains is None or not line or line.startswith("#") or line == "COMMIT":
            continue
        elif line.startswith(":"):
            name = line[1:].split()[0]
            if is_own_chain(name):
                chains.setdefault(name, ())
        elif line.startswith("-A "):
            _, chain, rule = line.split(" ", 2)
            if is_own_chain(chain) or (chain in BUILTIN_CHAINS and _is_own_jump(rule)):
                chains[chain] = (*chains.get(chain, ()), rule)
    return {name: chains for name, chains in tables.items() if chains}


def restore_script(desired: Mapping[str, Chains], current: Mapping[str, Chains]) -> str:
    """``iptables-restore --noflush`` input turning ``current`` into ``desired``; "" if equal."""
    out: list[str] = []
    for table in sorted(set(desired) | set(current)):
        want, have = desired.get(table, {}), current.get(table, {})
        if _normal(want) != _normal(have):
            out += [f"*{table}", *_table_lines(want, have), "COMMIT"]
    return "\n".join(out) + "\n" if out else ""


def _normal(chains: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    # a built-in chain without own jumps and a missing one are the same thing
    return {c: r for c, r in chains.items() if r or is_own_chain(c)}


def _table_lines(want: Mapping[str, tuple[str, ...]],
                 have: Mapping[str, tuple[str, ...]]) -> list[str]:
    own = [c for c in sorted(want) if is_own_chain(c) and want[c] != have.get(c)]
    stale = [c for c in sorted(have) if is_own_chain(c) and c not in want]
    lines = [f":{chain} - [0:0]" for chain in own + stale]  # declared = created or flushed
    for chain in sorted(c for c in set(want) | set(have) if c in BUILTIN_CHAINS):
        old, new = have.get(chain, ()), want.get(chain, ())
        if old == new:
            continue
        lines += [f"-D {chain} {rule}" for rule in old]
        lines += [f"-I {chain} {i} {rule}" for i, rule in enumerate(new, 1)]
    lines += [f"-X {chain}" for chain in stale]
    lines += [f"-A {chain} {rule}" for chain in own for rule in want[chain]]
    return lines


def rule_count(tables: Mapping[str, Chains]) -> int:
    return sum(len(rules) for chains in tables.values() for rules in chains.values())


class NamespaceIptables:
    """``iptables-save``/``iptables-restore`` of one namespace (the agent's own: None)."""

    def __init__(self, namespace: str | None, timeout: float = 30.0) -> None:
        self.namespace = namespace
        self.timeout = timeout

    def _run(self, argv: list[str], text: str | None = None) -> str:
        prefix = ["ip", "netns", "exec", self.namespace] if self.namespace else []
        proc = subprocess.run([*prefix, *argv], input=text, capture_output=True, text=True,
                              check=False, timeout=self.timeout)
        if proc.returncode != 0:
            raise IptablesError(f"{argv[0]} in {self.namespace or '(root)'} failed "
                                f"({proc.returncode}): {proc.stderr.strip()}")
        return proc.stdout

    def save(self, counters: bool = False) -> str:
        return self._run(["iptables-save", *(["-c"] if counters else [])])

    def installed(self) -> Tables:
        return parse_save(self.save())

    def apply(self, desired: Mapping[str, Chains]) -> list[str]:
        """Make the own chains ``desired``; the tables written (none when already equal)."""
        script = restore_script(desired, self.installed())
        if not script:
            return []
        self._run(["iptables-restore", "--noflush", "-w", "10"], script)
        return [line[1:] for line in script.splitlines() if line.startswith("*")]
