"""The security-group service plugin: groups, rules, the default group, port bindings."""
