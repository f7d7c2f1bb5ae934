"""Keystone trusts: how the promoter builds on a user's behalf.

When a user submits a pending request, a trust is taken with the user's
token: from that user (trustor) to the reaper's service user (trustee),
on the request's project, with the user's roles there, impersonating
the user.  Its id is stored with the request (``trust_id``, never
shown).  When the request is promoted, the servers are built through a
session scoped to that trust: Nova sees the user, in the user's project.

:class:`TrustBroker` is the small interface the promoter uses;
:class:`KeystoneTrusts` implements it with keystoneauth1.
"""

import abc
import threading
import weakref

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1.identity import v3
from keystoneauth1 import session as ks_session

#: What a broker raises when Keystone refuses or does not answer.
TrustError = ks_exceptions.ClientException


class TrustBroker(metaclass=abc.ABCMeta):
    """Takes trusts and gives the auth to act through them."""

    @abc.abstractmethod
    def create_trust(self, user_token, project_id, roles):
        """A trust from the token's user to the reaper on
        ``project_id`` with ``roles`` (names); its id."""

    @abc.abstractmethod
    def auth(self, trust_id):
        """A keystoneauth1 auth plugin scoped to ``trust_id``."""

    @abc.abstractmethod
    def delete_trust(self, trust_id):
        """Give the trust up (the request is finished)."""

    def list_trust_ids(self):
        """The ids of every trust whose trustee is the reaper, for the
        clean-up of leaked trusts (:mod:`reaper_svc.leaked_trusts`);
        None: this broker cannot list them (nothing is cleaned up)."""
        return None


class KeystoneTrusts(TrustBroker):
    """Trusts in Keystone v3 (``OS-TRUST``), through keystoneauth1.

    :param auth_url: Keystone's v3 URL
    :param username: the reaper's service user (the trustee)
    :param password: its password
    :param user_domain_id: its domain
    :param timeout: seconds to wait for each answer of Keystone (without
        one, keystoneauth1 waits for ever: a Keystone that never answered
        held the API's submission of a pending request, or the
        promoter's build, with it)
    """

    #: Seconds to wait for an answer of Keystone.
    TIMEOUT = 30

    #: The most pages of trusts one listing reads (Keystone 30 does not
    #: page this list; a proxy or a later release may).
    MAX_PAGES = 100

    def __init__(self, auth_url, username, password,
                 user_domain_id='default', verify=True, timeout=None):
        self.auth_url = auth_url.rstrip('/')
        self.username = username
        self.password = password
        self.user_domain_id = user_domain_id
        self.verify = verify
        self.timeout = timeout if timeout is not None else self.TIMEOUT
        self._trustee_id = None

    def _session(self, auth):
        return ks_session.Session(auth=auth, verify=self.verify,
                                  timeout=self.timeout)

    def _own_auth(self):
        """The reaper's service user, unscoped (Keystone refuses to list
        trusts with a trust-scoped token)."""
        return v3.Password(auth_url=self.auth_url, username=self.username,
                           password=self.password,
                           user_domain_id=self.user_domain_id)

    def trustee_id(self):
        """The reaper's service user id (asked of Keystone once)."""
        if self._trustee_id is None:
            self._trustee_id = self._session(self._own_auth()).get_user_id()
        return self._trustee_id

    def list_trust_ids(self):
        """``GET /v3/OS-TRUST/trusts?trustee_user_id=<the reaper>``, its
        pages followed (at most :data:`MAX_PAGES`)."""
        session = self._session(self._own_auth())
        url = self.auth_url + '/OS-TRUST/trusts'
        params = {'trustee_user_id': self.trustee_id()}
        found = []
        for _page in range(self.MAX_PAGES):
            body = session.get(url, params=params).json()
            found.extend(trust['id'] for trust in body.get('trusts', ()))
            url = (body.get('links') or {}).get('next')
            if not url:
                break
            params = None
        return found

    def create_trust(self, user_token, project_id, roles):
        # The user's token, rescoped to the request's project: a trust
        # can delegate only roles the trustor has there.
        session = self._session(v3.Token(auth_url=self.auth_url,
                                         token=user_token,
                                         project_id=project_id))
        body = {'trust': {
            'trustor_user_id': session.get_user_id(),
            'trustee_user_id': self.trustee_id(),
            'project_id': project_id, 'impersonation': True,
            'roles': [{'name': role} for role in roles]}}
        response = session.post(self.auth_url + '/OS-TRUST/trusts',
                                json=body)
        return response.json()['trust']['id']

    def auth(self, trust_id):
        return v3.Password(auth_url=self.auth_url, username=self.username,
                           password=self.password,
                           user_domain_id=self.user_domain_id,
                           trust_id=trust_id)

    def delete_trust(self, trust_id):
        session = self._session(self.auth(trust_id))
        session.delete(self.auth_url + '/OS-TRUST/trusts/%s' % trust_id)


def from_conf(conf):
    """The broker ``[trustee]`` describes; None when it names no Keystone
    or no service user (no trusts are taken then)."""
    options = conf.trustee
    if not (options.auth_url and options.username):
        return None
    return KeystoneTrusts(options.auth_url, options.username,
                          options.password,
                          user_domain_id=options.user_domain_id)


_BY_CONF = {}
_LOCK = threading.Lock()


def get(conf):
    """The one broker of ``conf`` in this process (see :func:`from_conf`),
    made on first use: it remembers the trustee's user id."""
    with _LOCK:
        # ConfigOpts is unhashable: keyed by id, dropped with it.
        key = id(conf)
        if key not in _BY_CONF:
            _BY_CONF[key] = from_conf(conf)
            weakref.finalize(conf, _BY_CONF.pop, key, None)
        return _BY_CONF[key]
