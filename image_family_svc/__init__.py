"""Image families and their lifecycle (image_family)."""
