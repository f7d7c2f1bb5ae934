"""What svc_common needs to know to run image_family_svc."""

from svc_common import service_spec

SPEC = service_spec.ServiceSpec(
    package='image_family_svc', prog='image-family',
    service_type='image-family',
    namespace='image_family', default_port=9872,
    title='Image families and their lifecycle',
    engine='cmd.engine')
