"""Moved to :mod:`svc_common.tests.fixtures.api`; the names stay here for
tests not yet updated."""

from svc_common.tests.fixtures import api

ServiceApp = api.ServiceApp
identity = api.identity
SYSTEM_ADMIN = api.SYSTEM_ADMIN
SYSTEM_READER = api.SYSTEM_READER
PROJECT_ADMIN = api.PROJECT_ADMIN
PROJECT_MEMBER = api.PROJECT_MEMBER
PROJECT_READER = api.PROJECT_READER
SERVICE = api.SERVICE
NO_ROLES = api.NO_ROLES
