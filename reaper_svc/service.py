"""What svc_common needs to know to run reaper_svc."""

from svc_common import service_spec

SPEC = service_spec.ServiceSpec(
    package='reaper_svc', prog='reaper', service_type='preemption',
    namespace='preemption', default_port=9871, engine='cmd.engine',
    local_run='local_run',
    title='Preemptible instances: frees capacity for normal servers and '
          'promotes pending requests')
