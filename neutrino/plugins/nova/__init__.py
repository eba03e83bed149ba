"""Nova's external events: tell Nova when a VM's port is plugged, unplugged, changed."""
