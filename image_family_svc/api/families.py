"""/v1/families: families, their images and their latest."""

import jsonschema
import pecan
from pecan import rest

from image_family_svc.api import common
from image_family_svc.db import families as families_db
from image_family_svc.db import members as members_db
from image_family_svc import lifecycle
from image_family_svc import properties_schema as properties_schema_rules
from image_family_svc.schemas import family as schema
from image_family_svc.schemas import image as image_schema
from svc_common.api import controller
from svc_common.api import openapi
from svc_common.api import validation
from svc_common import errors


def _family(family_name):
    return families_db.get_family(pecan.request.db, pecan.request.context,
                                  family_name)


def _readable(action, family_name):
    family = _family(family_name)
    common.authorize_read(action, family,
                          families_db.no_such_family(family_name))
    return family


def _writable(action, family_name):
    family = _family(family_name)
    common.authorize_write(action, family,
                           families_db.no_such_family(family_name))
    return family


def _check_schema(properties_schema):
    # Patterns are judged by image_family_svc.properties_schema (ECMA-262,
    # run by RE2), not by the meta-schema's "regex" format (Python's re).
    try:
        validation.check_schema(properties_schema)
    except jsonschema.SchemaError as exc:
        raise errors.BadRequest(
            'Invalid field properties_schema: not a JSON schema: %s'
            % validation.error_message(exc)[:300], code='invalid_input',
            field='properties_schema')
    refused = properties_schema_rules.refusal(properties_schema)
    if refused is not None:
        path, reason = refused
        field = '/'.join(['properties_schema'] + [str(p) for p in path])
        raise errors.BadRequest(
            'Invalid field %s: %s.' % (field[:200], reason),
            code='invalid_input', field=field)


def _version(body, properties):
    """The version of an image joining: the body's, else the property
    ``[image_family] version_property`` as text (or None), at most as
    long as a version given in the body may be."""
    if body.get('version'):
        return body['version']
    name = pecan.request.conf.image_family.version_property
    version = properties.get(name)
    if version is None:
        return None
    version = str(version)
    if len(version) > image_schema.VERSION['maxLength']:
        field = 'properties/%s' % name
        raise errors.BadRequest(
            'Invalid field %s: a version is at most %d characters.'
            % (field, image_schema.VERSION['maxLength']),
            code='invalid_input', field=field)
    return version


def _properties(body):
    """The properties of an image joining: the body's, with the
    version given in the body as ``[image_family] version_property``
    when they have none.

    An image's version is its version property (what a join from a
    Glance notification reads), so a version given on its own is that
    property: the default schema requires ``os_version``, and ``openstack
    image family add <family> <image> --image-version 7.9`` was refused
    for lacking it.  A version property that is given is kept, even if
    the body's version differs from it.
    """
    properties = dict(body.get('properties', {}))
    name = pecan.request.conf.image_family.version_property
    if body.get('version') and name not in properties:
        properties[name] = body['version']
    return properties


def _owner(body):
    """The project that owns a new family: the one given (null: the
    system), else the caller's project, else the system."""
    if 'project_id' in body:
        return body['project_id']
    ctx = pecan.request.context
    return None if ctx.is_system_scoped else ctx.project_id


class LatestController(rest.RestController):
    """GET /v1/families/{family_name}/latest[?channel=beta]"""

    OPENAPI = {'get_all': openapi.Operation(
        'family:latest', image_schema.RESPONSE_LATEST,
        query=image_schema.LATEST_QUERY)}

    @pecan.expose('json')
    def get_all(self, family_name):
        family = _readable('family:latest', family_name)
        channel = pecan.request.params.get('channel',
                                           lifecycle.DEFAULT_CHANNEL)
        validation.validate(image_schema.LATEST_QUERY, {'channel': channel})
        view = members_db.get_latest(pecan.request.db, pecan.request.context,
                                     family, channel)
        return {'family': family_name, 'channel': channel,
                'image': common.image_dict(view) if view else None}


class FamilyImagesController(rest.RestController):
    """/v1/families/{family_name}/images[/{image_id}]"""

    OPENAPI = {
        'get_all': openapi.Operation(
            'family:image:list', image_schema.RESPONSE_IMAGES,
            query=image_schema.FAMILY_IMAGES_QUERY),
        'post': openapi.Operation(
            'family:image:add', image_schema.RESPONSE_IMAGE, status=201,
            body=image_schema.ADD, errors=(409, 503)),
        'delete': openapi.Operation('family:image:remove', status=204,
                                    errors=(409,)),
    }

    @pecan.expose('json')
    def get_all(self, family_name):
        family = _readable('family:image:list', family_name)
        params = pecan.request.params
        limit, marker = validation.page(params,
                                        pecan.request.conf.api.max_limit)
        validation.validate(image_schema.FAMILY_IMAGES_QUERY, dict(params))
        views = members_db.list_family_images(
            pecan.request.db, pecan.request.context, family, limit, marker,
            only=controller.visible_project(), state=params.get('state'))
        images = [common.image_dict(v) for v in views]
        return {'images': images, 'links': validation.links_for_page(
            images, limit, 'image_id',
            '/v1/families/%s/images' % family_name, params)}

    @pecan.expose('json')
    def post(self, family_name):
        family = _writable('family:image:add', family_name)
        body = validation.json_body(image_schema.ADD)
        common.require_owned_image(family, body['image_id'])
        properties = _properties(body)
        view, events = members_db.join(
            pecan.request.db, pecan.request.context, family_name,
            body['image_id'], _version(body, properties), properties,
            state=body.get('state', lifecycle.TESTING),
            max_project_members=(pecan.request.conf.image_family.
                                 max_images_per_project_family))
        common.publish(events)
        return controller.created({'image': common.image_dict(view)})

    @pecan.expose('json')
    def delete(self, family_name, image_id):
        _writable('family:image:remove', family_name)
        events = common.leave(family_name, image_id)
        common.publish(events)
        controller.no_content()


class FamiliesController(rest.RestController):

    OPENAPI = {
        'get_all': openapi.Operation('family:list', schema.RESPONSE_FAMILIES,
                                     query=schema.LIST_QUERY),
        'get_one': openapi.Operation('family:get', schema.RESPONSE_FAMILY,
                                     path={'family_name': schema.NAME}),
        'post': openapi.Operation('family:create', schema.RESPONSE_FAMILY,
                                  status=201, body=schema.CREATE,
                                  errors=(409,)),
        'patch': openapi.Operation('family:update', schema.RESPONSE_FAMILY,
                                   body=schema.UPDATE,
                                   path={'family_name': schema.NAME}),
        'delete': openapi.Operation('family:delete', status=204,
                                    errors=(409,),
                                    path={'family_name': schema.NAME}),
    }

    images = FamilyImagesController()
    latest = LatestController()

    @pecan.expose('json')
    def get_all(self):
        params = pecan.request.params
        controller.authorize('family:list', controller.list_target())
        limit, marker = validation.page(params,
                                        pecan.request.conf.api.max_limit)
        validation.validate(schema.LIST_QUERY, dict(params))
        rows = families_db.list_families(
            pecan.request.db, pecan.request.context, limit, marker,
            only=controller.visible_project(),
            project_id=params.get('project_id'),
            visibility=params.get('visibility'))
        families = [common.family_dict(f) for f in rows]
        return {'families': families, 'links': validation.links_for_page(
            families, limit, 'name', '/v1/families', params)}

    @pecan.expose('json')
    def get_one(self, family_name):
        return {'family': common.family_dict(
            _readable('family:get', family_name))}

    @pecan.expose('json')
    def post(self):
        body = validation.json_body(schema.CREATE)
        project_id = _owner(body)
        controller.authorize('family:create',
                             common.owner_target(project_id))
        visibility = body.get('visibility') or (
            families_db.PUBLIC if project_id is None else families_db.PRIVATE)
        if project_id is None and visibility != families_db.PUBLIC:
            raise errors.BadRequest(
                'Invalid field visibility: a system-owned family is public.',
                code='invalid_input', field='visibility')
        properties_schema = body.get('properties_schema',
                                     families_db.DEFAULT_PROPERTIES_SCHEMA)
        _check_schema(properties_schema)
        family = families_db.create_family(
            pecan.request.db, pecan.request.context, body['name'],
            project_id, visibility, properties_schema,
            body.get('keep_superseded'), body.get('description'),
            pecan.request.conf.image_family.max_families_per_project)
        return controller.created({'family': common.family_dict(family)})

    @pecan.expose('json')
    def patch(self, family_name):
        family = _writable('family:update', family_name)
        body = validation.json_body(schema.UPDATE)
        if 'properties_schema' in body:
            _check_schema(body['properties_schema'])
        if body.get('visibility') == families_db.PRIVATE and (
                family.project_id is None):
            raise errors.BadRequest(
                'Invalid field visibility: a system-owned family is public.',
                code='invalid_input', field='visibility')
        family, events = members_db.update_family(
            pecan.request.db, pecan.request.context, family_name, **body)
        common.publish(events)
        return {'family': common.family_dict(family)}

    @pecan.expose('json')
    def delete(self, family_name):
        _writable('family:delete', family_name)
        families_db.delete_family(pecan.request.db, pecan.request.context,
                                  family_name)
        controller.no_content()
