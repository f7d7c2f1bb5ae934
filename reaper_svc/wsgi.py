"""WSGI entry point of reaper_svc for uwsgi, gunicorn or mod_wsgi."""

from svc_common import wsgi_app

from reaper_svc import service

application = wsgi_app.init_application(service.SPEC)
