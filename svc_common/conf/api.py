"""The ``[api]`` option group: how a service's HTTP API is served."""

from oslo_config import cfg

GROUP = 'api'


def api_opts(default_port):
    return [
        cfg.HostAddressOpt(
            'host', default='127.0.0.1',
            help='Address the development server (<service>-api) and the '
                 'all-in-one local run listen on. Under uwsgi or another '
                 'WSGI server, the server\'s own setting applies instead.'),
        cfg.PortOpt(
            'port', default=default_port,
            help='TCP port the development server and the local run '
                 'listen on.'),
        cfg.StrOpt(
            'auth_strategy', default='keystone',
            choices=[('keystone', 'Validate tokens with keystonemiddleware '
                                  'auth_token ([keystone_authtoken]).'),
                     ('noauth', 'Trust X-User-Id, X-Project-Id, X-Roles '
                                'and X-System-Scope headers as given. For '
                                'local runs and tests only: anyone who can '
                                'reach the API can claim any identity.')],
            help='How API requests are authenticated.'),
        cfg.IntOpt(
            'max_limit', default=1000, min=1,
            help='The most items a list request returns in one page, '
                 'whatever its "limit" parameter asks for.'),
    ]


def register_opts(conf, default_port):
    conf.register_opts(api_opts(default_port), group=GROUP)


def list_opts(default_port):
    return [(GROUP, api_opts(default_port))]
