"""WSGI entry point of image_family_svc for uwsgi, gunicorn or mod_wsgi."""

from svc_common import wsgi_app

from image_family_svc import service

application = wsgi_app.init_application(service.SPEC)
