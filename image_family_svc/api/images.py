"""/v1/images: an image's state, successor, transitions and usage."""

import pecan
from pecan import rest

from image_family_svc.api import common
from image_family_svc.db import members as members_db
from image_family_svc.db import usage as usage_db
from image_family_svc.schemas import image as schema
from svc_common.api import controller
from svc_common.api import openapi
from svc_common.api import validation


def _family_of(action, image_id, write=False):
    """Authorize ``action`` on the family of ``image_id``; its Family.

    A write of an image the caller cannot see (a ``testing`` member of
    another project's public family) answers as absent, as a read does,
    before the policy refuses it: a 403 told other projects it exists.
    """
    family = members_db.image_family(pecan.request.db, pecan.request.context,
                                     image_id)
    if write and not members_db.owner_view(family,
                                           controller.visible_project()):
        _view(image_id)
    check = common.authorize_write if write else common.authorize_read
    check(action, family, members_db.no_such_image(image_id))
    return family


def _view(image_id):
    return members_db.get_image(pecan.request.db, pecan.request.context,
                                image_id, only=controller.visible_project())


class TransitionsController(rest.RestController):
    """/v1/images/{image_id}/transitions[/{transition_id}]"""

    OPENAPI = {
        'get_all': openapi.Operation('image:transition:list',
                                     schema.RESPONSE_TRANSITIONS,
                                     query=schema.TRANSITIONS_QUERY),
        'post': openapi.Operation('image:transition:create',
                                  schema.RESPONSE_TRANSITION,
                                  body=schema.TRANSITION, errors=(409,)),
        'delete': openapi.Operation('image:transition:delete', status=204),
    }

    @pecan.expose('json')
    def get_all(self, image_id):
        family = _family_of('image:transition:list', image_id)
        _view(image_id)  # hidden states answer as absent
        params = pecan.request.params
        limit, marker = validation.page(params,
                                        pecan.request.conf.api.max_limit)
        validation.validate(schema.TRANSITIONS_QUERY, dict(params))
        history, scheduled = members_db.list_transitions(
            pecan.request.db, pecan.request.context, image_id, limit,
            after=int(marker) if marker is not None else None)
        show_actor = common.shows_actor(family)
        transitions = [common.history_dict(h, show_actor) for h in history]
        return {'image_id': image_id, 'transitions': transitions,
                'scheduled': [common.scheduled_dict(s, show_actor)
                              for s in scheduled],
                'links': validation.links_for_page(
                    transitions, limit, 'id',
                    '/v1/images/%s/transitions' % image_id, params)}

    @pecan.expose('json')
    def post(self, image_id):
        family = _family_of('image:transition:create', image_id, write=True)
        body = validation.json_body(schema.TRANSITION)
        at = common.future_time(body['at']) if 'at' in body else None
        scheduled, events = members_db.request_transition(
            pecan.request.db, pecan.request.context, image_id, body['to'],
            body.get('reason'), at,
            drain=pecan.request.conf.image_family.obsolete_drain_seconds)
        common.publish(events)
        return {'image': common.image_dict(_view(image_id)),
                'scheduled': (common.scheduled_dict(
                    scheduled, common.shows_actor(family))
                    if scheduled is not None else None)}

    @pecan.expose('json')
    def delete(self, image_id, transition_id):
        _family_of('image:transition:delete', image_id, write=True)
        members_db.delete_scheduled(pecan.request.db, pecan.request.context,
                                    image_id, transition_id)
        controller.no_content()


class UsageController(rest.RestController):
    """GET /v1/images/{image_id}/usage"""

    OPENAPI = {'get_all': openapi.Operation('image:usage',
                                            schema.RESPONSE_USAGE)}

    @pecan.expose('json')
    def get_all(self, image_id):
        _family_of('image:usage', image_id)
        _view(image_id)
        servers, updated_at = usage_db.servers_of(
            pecan.request.db, pecan.request.context, image_id)
        return {'image_id': image_id, 'servers': servers,
                'updated_at': controller.isoformat(updated_at)}


class ImagesController(rest.RestController):

    OPENAPI = {
        'get_all': openapi.Operation('image:list', schema.RESPONSE_IMAGES,
                                     query=schema.LIST_QUERY),
        'get_one': openapi.Operation('image:get', schema.RESPONSE_IMAGE),
    }

    transitions = TransitionsController()
    usage = UsageController()

    @pecan.expose('json')
    def get_all(self):
        controller.authorize('image:list', controller.list_target())
        params = pecan.request.params
        limit, marker = validation.page(params,
                                        pecan.request.conf.api.max_limit)
        validation.validate(schema.LIST_QUERY, dict(params))
        views = members_db.list_images(
            pecan.request.db, pecan.request.context, limit, marker,
            only=controller.visible_project(),
            latest_only=validation.boolean_param(params, 'latest', True),
            family_name=params.get('family'), state=params.get('state'))
        images = [common.image_dict(v) for v in views]
        return {'images': images, 'links': validation.links_for_page(
            images, limit, 'image_id', '/v1/images', params)}

    @pecan.expose('json')
    def get_one(self, image_id):
        _family_of('image:get', image_id)
        return {'image': common.image_dict(_view(image_id))}
