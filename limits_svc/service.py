"""What svc_common needs to know to run limits_svc."""

from limits_svc.cmd import sync
from limits_svc.cmd import usage
from svc_common import service_spec

SPEC = service_spec.ServiceSpec(
    package='limits_svc', prog='limits', service_type='limits',
    namespace='limits', default_port=9870,
    title='Hierarchical quota enforcement over trees of projects',
    manage_commands=(sync.add_parser, usage.add_parser),
    engine='cmd.engine')
