"""Agent RPC over oslo.messaging: transport, topics, server callbacks, notifiers, client."""
