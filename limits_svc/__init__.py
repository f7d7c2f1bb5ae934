"""Hierarchical quota enforcement over trees of projects (limits)."""
