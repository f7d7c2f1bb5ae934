"""What svc_common needs to know to run federation_proxy."""

from federation_proxy.cmd import keys
from federation_proxy import login
from federation_proxy.oidc import endpoints
from svc_common import service_spec

SPEC = service_spec.ServiceSpec(
    package='federation_proxy', prog='federation', service_type='federation',
    namespace='federation', default_port=9873,
    title='Federation proxy: upstream identity providers, virtual '
          'organisations and an OIDC provider',
    manage_commands=(keys.add_parser,), local_run='local_run',
    public_paths=endpoints.PUBLIC_PATHS + login.PUBLIC_PATHS,
    form_paths=endpoints.FORM_PATHS,
    session_auth='api.session_auth', startup='startup')
