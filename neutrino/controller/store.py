"""Thread-safe in-memory resource store with referential integrity and JSON persistence."""

from __future__ import annotations

import builtins
import copy
import json
import os
import tempfile
import threading
import uuid
from pathlib import Path

from neutrino.controller import errors
from neutrino.controller.resources import (
    BY_OBJECT_TYPE,
    RESOURCE_TYPES,
    OnDelete,
    Reference,
    Resource,
    ResourceType,
    references_of,
)

STATE_FORMAT_VERSION = 1

_Key = tuple[str, str]  # (object_type, id)


class ResourceStore:
    """What the controller knows: every resource by type and id.

    Every method is atomic under ``lock`` (an ``RLock``, so a caller may hold it
    across several calls to keep a request log in step with the changes).
    Objects go in and come out as deep copies. With ``state_file`` the whole
    store is rewritten atomically after each change and loaded at start.
    """

    def __init__(self, state_file: str | os.PathLike[str] | None = None) -> None:
        self.lock = threading.RLock()
        self._state_file = Path(state_file) if state_file else None
        self._data: dict[str, dict[str, Resource]] = {rt.object_type: {} for rt in RESOURCE_TYPES}
        # (target type, target id) -> {(referrer type, referrer id, reference field)}
        self._referrers: dict[_Key, set[tuple[str, str, str]]] = {}
        if self._state_file is not None and self._state_file.exists():
            self._load(self._state_file)

    # -- queries ---------------------------------------------------------

    def get(self, object_type: str, resource_id: str) -> Resource:
        """Return a copy of one resource; raise ``ResourceNotFound`` if absent."""
        with self.lock:
            return copy.deepcopy(self._existing(object_type, resource_id))

    def list(self, object_type: str) -> list[Resource]:
        """Return copies of every resource of a type, in creation order."""
        with self.lock:
            return copy.deepcopy(list(self._table(object_type).values()))

    def counts(self) -> dict[str, int]:
        """Number of resources held per type."""
        with self.lock:
            return {object_type: len(table) for object_type, table in self._data.items()}

    # -- changes ---------------------------------------------------------

    def create(self, object_type: str, obj: Resource) -> Resource:
        """Add a resource; raise ``ResourceExists`` or ``DependencyMissing``."""
        rtype = self._type(object_type)
        obj = copy.deepcopy(obj)
        resource_id = obj.setdefault("id", str(uuid.uuid4()))
        if not isinstance(resource_id, str):
            raise errors.BadRequest(reason="id must be a string")
        with self.lock:
            if resource_id in self._data[object_type]:
                raise errors.ResourceExists(object_type=object_type, id=resource_id)
            self._check_references(rtype, obj)
            self._put(rtype, obj)
            self._save()
            return copy.deepcopy(obj)

    def update(self, object_type: str, resource_id: str, changes: Resource) -> Resource:
        """Merge ``changes`` into a resource; raise ``ResourceNotFound``/``DependencyMissing``."""
        rtype = self._type(object_type)
        if changes.get("id", resource_id) != resource_id:
            raise errors.BadRequest(reason=f"body id {changes['id']} differs from URL id")
        with self.lock:
            merged = copy.deepcopy(self._existing(object_type, resource_id))
            merged.update(copy.deepcopy(changes))
            self._check_references(rtype, merged)
            self._unindex(rtype, self._data[object_type][resource_id])
            self._put(rtype, merged)
            self._save()
            return copy.deepcopy(merged)

    def delete(self, object_type: str, resource_id: str) -> None:
        """Remove a resource; raise ``ResourceNotFound`` or ``ResourceInUse``."""
        with self.lock:
            self._existing(object_type, resource_id)
            self._check_deletable(object_type, resource_id)
            self._remove(object_type, resource_id)
            self._save()

    def wipe(self) -> None:
        """Forget everything, as a controller restarted with an empty database."""
        with self.lock:
            for table in self._data.values():
                table.clear()
            self._referrers.clear()
            self._save()

    # -- internals -------------------------------------------------------

    def _type(self, object_type: str) -> ResourceType:
        try:
            return BY_OBJECT_TYPE[object_type]
        except KeyError:
            raise errors.UnknownCollection(collection=object_type) from None

    def _table(self, object_type: str) -> dict[str, Resource]:
        return self._data[self._type(object_type).object_type]

    def _existing(self, object_type: str, resource_id: str) -> Resource:
        try:
            return self._table(object_type)[resource_id]
        except KeyError:
            raise errors.ResourceNotFound(object_type=object_type, id=resource_id) from None

    def _check_references(self, rtype: ResourceType, obj: Resource) -> None:
        for ref, target_id in references_of(rtype, obj):
            if target_id not in self._data[ref.target]:
                raise errors.DependencyMissing(
                    object_type=rtype.object_type,
                    id=obj["id"],
                    ref_type=ref.target,
                    ref_id=target_id,
                    field=ref.field,
                )

    def _referrers_of(
        self, object_type: str, resource_id: str
    ) -> builtins.list[tuple[str, str, Reference]]:
        found = []
        for child_type, child_id, field in sorted(
            self._referrers.get((object_type, resource_id), ())
        ):
            ref = next(r for r in BY_OBJECT_TYPE[child_type].references if r.field == field)
            found.append((child_type, child_id, ref))
        return found

    def _check_deletable(self, object_type: str, resource_id: str) -> None:
        for child_type, child_id, ref in self._referrers_of(object_type, resource_id):
            if ref.on_delete is OnDelete.RESTRICT:
                raise errors.ResourceInUse(
                    object_type=object_type,
                    id=resource_id,
                    child_type=child_type,
                    child_id=child_id,
                )
            if ref.on_delete is OnDelete.CASCADE:
                self._check_deletable(child_type, child_id)

    def _remove(self, object_type: str, resource_id: str) -> None:
        for child_type, child_id, ref in self._referrers_of(object_type, resource_id):
            if ref.on_delete is OnDelete.CASCADE and child_id in self._data[child_type]:
                self._remove(child_type, child_id)
        rtype = BY_OBJECT_TYPE[object_type]
        self._unindex(rtype, self._data[object_type].pop(resource_id))

    def _put(self, rtype: ResourceType, obj: Resource) -> None:
        self._data[rtype.object_type][obj["id"]] = obj
        for ref, target_id in references_of(rtype, obj):
            referrers = self._referrers.setdefault((ref.target, target_id), set())
            referrers.add((rtype.object_type, obj["id"], ref.field))

    def _unindex(self, rtype: ResourceType, obj: Resource) -> None:
        for ref, target_id in references_of(rtype, obj):
            referrers = self._referrers.get((ref.target, target_id))
            if referrers is None:
                continue
            referrers.discard((rtype.object_type, obj["id"], ref.field))
            if not referrers:
                del self._referrers[(ref.target, target_id)]

    # -- persistence -----------------------------------------------------

    def _load(self, path: Path) -> None:
        state = json.loads(path.read_text(encoding="utf-8"))
        if state.get("version") != STATE_FORMAT_VERSION:
            raise ValueError(f"{path}: unsupported state format version {state.get('version')!r}")
        # References are not checked here: the file was consistent when written.
        for rtype in RESOURCE_TYPES:
            for obj in state.get("resources", {}).get(rtype.object_type, []):
                self._put(rtype, obj)

    def _save(self) -> None:
        if self._state_file is None:
            return
        state = {
            "version": STATE_FORMAT_VERSION,
            "resources": {t: list(table.values()) for t, table in self._data.items()},
        }
        directory = self._state_file.parent
        fd, tmp = tempfile.mkstemp(prefix=self._state_file.name, suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(state, out)
            os.replace(tmp, self._state_file)
        except BaseException:
            os.unlink(tmp)
            raise
