"""Wagtail's content API (v2): pages, images and documents, read-only and headless."""

from wagtail.api.v2.router import WagtailAPIRouter
from wagtail.api.v2.views import PagesAPIViewSet
from wagtail.documents.api.v2.views import DocumentsAPIViewSet
from wagtail.images.api.v2.views import ImagesAPIViewSet

content_api = WagtailAPIRouter("wagtailapi")
content_api.register_endpoint("pages", PagesAPIViewSet)
content_api.register_endpoint("images", ImagesAPIViewSet)
content_api.register_endpoint("documents", DocumentsAPIViewSet)
