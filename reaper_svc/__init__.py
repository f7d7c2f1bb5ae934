"""Preemptible instances: frees capacity for normal servers and promotes
pending requests (preemption)."""
