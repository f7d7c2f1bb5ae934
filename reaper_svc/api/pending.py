"""/v1/pending: servers a project wants built when room frees.

The project is the token's; the API records it and the user who asked.
When the API runs with Keystone auth and ``[trustee]`` names the
reaper's service user, the submission takes a Keystone trust with the
user's token (:mod:`reaper_svc.trusts`): the promoter builds the servers
through it, as that user, perhaps hours later when the token has long
expired.  Its id is stored with the request (``trust_id``, never shown);
the answer says ``"trusted": true``.  Without ``[trustee]``, a Keystone
API refuses submissions (503 ``trust_unavailable``): see
:func:`take_trust`.  In noauth mode (local runs, tests) there is no token
to delegate: no trust, ``"trusted": false``, and the promoter builds with
the cloud driver's own credentials.  Withdrawing a request gives its
trust up.
"""

import unicodedata

from keystoneauth1 import exceptions as ks_exc
from oslo_log import log as logging
import pecan
from pecan import rest

from reaper_svc.api import cloud
from reaper_svc import cloud_errors
from reaper_svc.db import clock as clock_db
from reaper_svc.db import pending as pending_db
from reaper_svc.schemas import pending as schema
from reaper_svc import trusts
from svc_common.api import controller
from svc_common.api import openapi
from svc_common.api import validation
from svc_common import errors
from svc_common import policy

LOG = logging.getLogger(__name__)


def pending_view(request):
    """A pending request as the API shows it."""
    view = dict(request)
    for key in ('deadline', 'created_at', 'updated_at'):
        view[key] = controller.isoformat(request[key])
    return view


def _printable_for_nova(char):
    """Whether Nova takes ``char`` in a server's name: a character of the
    Basic Multilingual Plane that is no control, format or unassigned
    character (category C) and no separator but a space (Zs)."""
    category = unicodedata.category(char)
    return (ord(char) < 0xFFFF and not category.startswith('C')
            and (not category.startswith('Z') or category == 'Zs'))


#: The longest server name Nova stores (its instances' display_name).
MAX_NOVA_NAME = 255


def check_server_name(name, field, count=1):
    """Refuse (a 400 naming ``field``) a server name Nova's ``POST
    /servers`` refuses: a character it does not take (see
    :func:`_printable_for_nova`: outside the Basic Multilingual Plane,
    emoji included, line and paragraph separators, format characters)
    or a space (Zs) at either end; nor, for ``count`` servers built at
    once, a name too long for Nova's ``<name>-<index>`` (``-1`` to
    ``-<count>``, in at most 255 characters: the create is accepted and
    its servers never appear).  Queued, the request failed when it was
    built, hours later perhaps ("The cloud refused the build")."""
    if not (all(_printable_for_nova(char) for char in name)
            and unicodedata.category(name[0]) != 'Zs'
            and unicodedata.category(name[-1]) != 'Zs'):
        raise errors.BadRequest(
            'Invalid field %s: Nova takes a server name of printable '
            'characters of the Basic Multilingual Plane that does not '
            'start or end with a space.' % field, code='invalid_input',
            field=field)
    most = MAX_NOVA_NAME - (len('-%d' % count) if count > 1 else 0)
    if len(name) > most:
        raise errors.BadRequest(
            'Invalid field %s: for %d servers Nova takes a name of at most '
            '%d characters (it names them <name>-1 to <name>-%d, in 255).'
            % (field, count, most, count), code='invalid_input',
            field=field, limit=most)


def server_specs(body):
    """The servers of a request with every member present; each flavor
    must be one the cloud has, each name one Nova takes, and the cloud
    must take the rest (the ``openstack`` driver: the image and networks
    by their IDs)."""
    specs = []
    for index, spec in enumerate(body['servers']):
        check_server_name(spec['name'], 'servers/%d/name' % index,
                          spec.get('count', 1))
        cloud.flavor_resources(spec['flavor'], 'servers/%d/flavor' % index)
        specs.append({'name': spec['name'], 'flavor': spec['flavor'],
                      'image': spec['image'],
                      'networks': list(spec.get('networks', ())),
                      'count': spec.get('count', 1)})
        cloud.check_server_spec(specs[-1], 'servers/%d' % index)
    return specs


def check_min_runtime(conf, min_runtime):
    """Refuse a guaranteed runtime longer than ``[preemption]
    max_guaranteed_runtime`` (a 400 naming the field and the limit).

    Servers under a guarantee are no victims, whatever room normal
    servers need: without a limit of the operator's, any member could
    take room for 30 days.  The policy does not tell administrators
    from members here: the limit is the same for every caller.
    """
    most = conf.preemption.max_guaranteed_runtime
    if min_runtime is None or min_runtime <= most:
        return
    if most == 0:
        detail = ('Invalid field min_runtime: this cloud guarantees no '
                  'runtime to pending requests ([preemption] '
                  'max_guaranteed_runtime is 0); leave min_runtime out.')
    else:
        detail = ('Invalid field min_runtime: %d s is more than this cloud '
                  'guarantees, at most %d s ([preemption] '
                  'max_guaranteed_runtime).' % (min_runtime, most))
    raise errors.BadRequest(detail, code='min_runtime_too_long',
                            field='min_runtime', limit=most)


def _creation_target(ctx):
    # A token without a project cannot own a request: checked against
    # the system, which a project-scoped rule never admits.
    if ctx.project_id:
        return policy.project_target(ctx.project_id)
    return policy.SYSTEM


def take_trust(conf, ctx):
    """The id of a trust from the caller to the reaper on the caller's
    project, or None when the API takes none (noauth); a 503 when
    Keystone refuses or does not answer, or when no ``[trustee]`` is
    configured to take one.

    Without a trust, the promoter builds with the cloud driver's own
    credentials: in the project those are scoped to (the reaper's), not
    the caller's, and with their rights (an admin's, who may use any
    project's images and networks), on the image and networks the caller
    named.  A Keystone deployment without ``[trustee]`` let any project
    member have the reaper build servers so.
    """
    if conf.api.auth_strategy != 'keystone' or not ctx.auth_token:
        return None
    broker = trusts.get(conf)
    if broker is None:
        LOG.warning('Pending request of user %s on project %s refused: '
                    'no [trustee] is configured to take the trust its '
                    'servers must be built with', ctx.user_id,
                    ctx.project_id)
        raise errors.ApiError(
            'The reaper has no [trustee] configured: it cannot take the '
            'trust it builds the servers with, as you, in your project.',
            code='trust_unavailable', status=503)
    roles = list(conf.trustee.roles) or list(ctx.roles)
    try:
        return broker.create_trust(ctx.auth_token, ctx.project_id, roles)
    except trusts.TrustError as exc:
        LOG.warning('No trust could be taken for user %s on project %s: '
                    '%s', ctx.user_id, ctx.project_id, exc)
        # Not keystoneauth's text: it named Keystone's internal URL,
        # address and port (see cloud_errors).
        refused = (isinstance(exc, ks_exc.HttpError) and
                   400 <= (exc.http_status or 0) < 500)
        raise errors.ApiError(
            'Keystone did not grant the trust the reaper builds the '
            'servers with: %s. %s.' % (
                cloud_errors.keystoneauth_failure('Keystone', exc),
                'Ask your cloud\'s operator: it delegates the roles of '
                '[trustee] roles, else those of your token' if refused else
                'Try again later, or ask your cloud\'s operator if it '
                'lasts'), code='trust_unavailable', status=503)


def give_trust_up(conf, trust_id):
    """Delete a withdrawn request's trust; a failure is only logged (the
    trust is useless without the request)."""
    broker = trusts.get(conf)
    if trust_id is None or broker is None:
        return
    try:
        broker.delete_trust(trust_id)
    except trusts.TrustError as exc:
        LOG.warning('Trust %s of a withdrawn request could not be '
                    'deleted: %s', trust_id, exc)


def _get(pending_id):
    return pending_db.get_request(pecan.request.db, pecan.request.context,
                                  pending_id)


class PendingController(rest.RestController):

    OPENAPI = {
        'get_all': openapi.Operation('pending:list',
                                     schema.RESPONSE_PENDING_LIST,
                                     query=schema.LIST_QUERY),
        'get_one': openapi.Operation('pending:get', schema.RESPONSE_PENDING),
        'post': openapi.Operation('pending:create', schema.RESPONSE_PENDING,
                                  status=201, body=schema.CREATE,
                                  errors=(409, 503)),
        'delete': openapi.Operation('pending:delete', status=204,
                                    errors=(409,)),
    }

    @pecan.expose('json')
    def get_all(self):
        params = pecan.request.params
        controller.authorize('pending:list', controller.list_target(
            params.get('project_id')))
        limit, marker = validation.page(params,
                                        pecan.request.conf.api.max_limit)
        validation.validate(schema.LIST_QUERY, dict(params))
        visible = controller.visible_project()
        rows = pending_db.list_requests(
            pecan.request.db, pecan.request.context, limit, marker,
            project_id=(params.get('project_id') if visible is None
                        else visible),
            state=params.get('state'))
        items = [pending_view(r) for r in rows]
        return {'pending': items, 'links': validation.links_for_page(
            items, limit, 'id', '/v1/pending', params)}

    @pecan.expose('json')
    def get_one(self, pending_id):
        request = _get(pending_id)
        controller.authorize('pending:get',
                             policy.project_target(request['project_id']),
                             not_found=pending_db.no_such_request(pending_id))
        return {'pending': pending_view(request)}

    @pecan.expose('json')
    def post(self):
        ctx = pecan.request.context
        controller.authorize('pending:create', _creation_target(ctx))
        body = validation.json_body(schema.CREATE)
        conf = pecan.request.conf
        check_min_runtime(conf, body.get('min_runtime'))
        deadline = body.get('deadline')
        if deadline is not None:
            # The promoter expires it on the database's clock: "in the
            # future" is measured on that clock too, not this host's.
            deadline = validation.future_time(
                deadline, 'deadline',
                clock_db.database_now(pecan.request.db, ctx))
        specs = server_specs(body)
        most = conf.preemption.max_pending_per_project
        # Before the trust: one taken for a refused request would stay.
        pending_db.check_room(pecan.request.db, ctx, ctx.project_id, most)
        trust_id = take_trust(conf, ctx)
        try:
            request = pending_db.create_request(
                pecan.request.db, ctx, ctx.project_id, ctx.user_id, specs,
                body.get('all_or_nothing', True),
                min_runtime=body.get('min_runtime'), deadline=deadline,
                trust_id=trust_id, most=most)
        except Exception:
            # Over the project's limit, or the database away: no request
            # holds the trust, which would let the reaper act as the
            # caller in the project for good.
            give_trust_up(conf, trust_id)
            raise
        return controller.created({'pending': pending_view(request)})

    @pecan.expose('json')
    def delete(self, pending_id):
        def check(project_id):
            controller.authorize(
                'pending:delete', policy.project_target(project_id),
                not_found=pending_db.no_such_request(pending_id))

        trust_id = pending_db.cancel_request(
            pecan.request.db, pecan.request.context, pending_id, check=check)
        give_trust_up(pecan.request.conf, trust_id)
        controller.no_content()
