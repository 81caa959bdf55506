"""sigil_devstack."""
