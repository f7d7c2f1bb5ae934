"""The pecan root of image_family_svc: ``/`` and ``/v1``."""

from image_family_svc.api import families as families_api
from image_family_svc.api import images as images_api
from svc_common.api import root


class V1Controller(root.V1Controller):
    RESOURCES = ('families', 'images')

    families = families_api.FamiliesController()
    images = images_api.ImagesController()


class RootController(root.RootController):

    def __init__(self):
        super().__init__(V1Controller())
