"""Linux plumbing for the agents: namespaces, links, addresses, routes, sysctls."""
