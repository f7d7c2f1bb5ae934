"""What federation_proxy needs to be tried in ``arbiter-all-in-one``.

The proxy's OIDC issuer (``[federation] issuer``) is the URL that its
discovery document, its tokens and the device grant's verification
address name; its default is the default port's,
``http://127.0.0.1:9873``.  A local run on other ports (``--port-base``)
therefore sent people and leaf Keystones to a port where nothing, or
another run, answered.  The local run makes the issuer the URL it
serves the proxy on, as a *default*: an operator's own ``issuer``, from
a file of ``--config-dir``, is used instead.
"""


def set_defaults(conf):
    """Make the local run's URL of the proxy (``[api] host`` and
    ``port``) the default of ``[federation] issuer`` on ``conf``."""
    host = conf.api.host
    if ':' in host:
        host = '[%s]' % host
    conf.set_default('issuer', 'http://%s:%d' % (host, conf.api.port),
                     group='federation')
