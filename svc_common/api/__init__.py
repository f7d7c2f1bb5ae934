"""Pecan building blocks shared by the services' APIs."""
