"""WSGI entry point of federation_proxy for uwsgi, gunicorn or mod_wsgi."""

from svc_common import wsgi_app

from federation_proxy import service

application = wsgi_app.init_application(service.SPEC)
