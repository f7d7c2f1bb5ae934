"""What svc_common needs to know to run federation_proxy."""

from svc_common import service_spec

SPEC = service_spec.ServiceSpec(
    package='federation_proxy', prog='federation', service_type='federation',
    namespace='federation', default_port=9873,
    title='Federation proxy: upstream identity providers, virtual '
          'organisations and an OIDC provider')
