"""The RBAC service plugin: ``/v2.0/rbac-policies`` and the object types it shares."""
