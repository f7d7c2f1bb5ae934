"""JSON-schema pieces every Arbiter service builds its request schemas from.

The rules about hostile input live here, once: what an ID, a name, a
description, an amount, a limit value and a page request may be.  Services
compose them in their own ``<svc>/schemas/<resource>.py`` modules; the
validator of :mod:`svc_common.api.validation` gives ``pattern`` the
JSON-Schema (ECMA-262) meaning and makes ``integer`` mean a JSON integer
literal.
"""
