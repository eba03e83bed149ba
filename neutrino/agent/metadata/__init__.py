"""The metadata agent (unix socket → Nova's metadata API) and the proxy run in namespaces."""
