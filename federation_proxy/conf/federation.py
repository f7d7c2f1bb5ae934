"""The ``[federation]`` option group."""

from oslo_config import cfg

GROUP = 'federation'


def _opts():
    return [
        cfg.URIOpt(
            'issuer', default='http://127.0.0.1:9873',
            help='OIDC issuer URL of this proxy, as the leaf Keystones '
                 'are configured to trust it. It must be the externally '
                 'reachable URL of the federation API.'),
        cfg.StrOpt(
            'secret_key', secret=True,
            help='Key that encrypts the client secrets of upstream '
                 'identity providers in the database (Fernet, keyed with '
                 'the SHA-256 of this text). Use a long random string, the '
                 'same on every API host; changing it makes the stored '
                 'secrets unreadable, so set each IdP\'s secret again '
                 'afterwards. Without it, an IdP can be registered only '
                 'as a public client (no secret).'),
        cfg.IntOpt(
            'discovery_timeout', default=10, min=1, max=120,
            help='Seconds an exchange with an upstream IdP may take: '
                 'its discovery document (/.well-known/openid-'
                 'configuration), its JWKS, and the token answer of each '
                 'login. The connection and each read wait at most this '
                 'long, and the whole answer must have arrived this long '
                 'after the request was sent, so an exchange takes at '
                 'most about twice as long; an answer longer than 1 MiB '
                 'is refused. A login whose exchange fails is answered '
                 '502 (token endpoint) or 400 (JWKS).'),
        cfg.IntOpt(
            'membership_lifetime_days', default=365, min=1,
            help='Days a new or renewed membership lasts before it '
                 'expires, unless the manager gives another lifetime.'),
        cfg.IntOpt(
            'invitation_lifetime', default=7 * 24 * 3600, min=60,
            help='Seconds an invitation token can be accepted.'),
        cfg.StrOpt(
            'entitlement_nid', default='geant',
            help='URN namespace identifier of the eduperson_entitlement '
                 'values (AARC-G069), e.g. geant or mace.'),
        cfg.StrOpt(
            'entitlement_namespace', default='example.org',
            help='Delegated namespace of the entitlement URNs: a DNS name '
                 'your organisation controls.'),
        cfg.StrOpt(
            'entitlement_authority', default=None,
            help='Authority (#fragment) of the entitlement URNs; by '
                 'default the host name of the issuer.'),
        cfg.IntOpt(
            'access_token_lifetime', default=300, min=30, max=3600,
            help='Seconds an access or ID token is valid. This is also '
                 'the longest a removed or expired member keeps a token '
                 'that names their VO.'),
        cfg.IntOpt(
            'access_token_max_size', default=6144, min=2048, max=16384,
            help='Longest access token, in bytes, that carries the '
                 'person\'s eduperson_entitlement and groups claims. A '
                 'person in so many groups that their token would be '
                 'longer gets a token without both claims, which says '
                 'instead (OIDC distributed claims: _claim_names, '
                 '_claim_sources) that the userinfo endpoint has them; '
                 'introspection answers them too. Web servers refuse '
                 'request header lines over 8 KB by default (Apache, '
                 'gunicorn, nginx), so a longer token could not be sent '
                 'as a Bearer header to a leaf Keystone.'),
        cfg.IntOpt(
            'refresh_token_lifetime', default=30 * 24 * 3600, min=60,
            help='Seconds a refresh token is valid.'),
        cfg.IntOpt(
            'authorization_code_lifetime', default=60, min=10, max=600,
            help='Seconds an authorization code can be exchanged.'),
        cfg.IntOpt(
            'device_code_lifetime', default=600, min=60, max=3600,
            help='Seconds a device authorization request (RFC 8628: '
                 'command-line logins) waits for the person to enter the '
                 'user code and approve, and for the client to collect '
                 'its tokens.'),
        cfg.IntOpt(
            'device_poll_interval', default=5, min=1, max=60,
            help='Seconds a command-line client must wait between two '
                 'polls of the token endpoint during a device '
                 'authorization; a client that polls faster is told '
                 'slow_down and must wait 5 seconds more.'),
    ]


def register_opts(conf):
    conf.register_opts(_opts(), group=GROUP)


def list_opts():
    return [(GROUP, _opts())]
