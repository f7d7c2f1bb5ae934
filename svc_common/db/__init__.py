"""Database access shared by the services: engine facade and migrations."""
