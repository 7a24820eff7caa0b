"""The APIs: Wagtail's content API (v2, headless pages/images/documents) and ours (v1)."""

from ninja import NinjaAPI
from wagtail.api.v2.router import WagtailAPIRouter
from wagtail.api.v2.views import PagesAPIViewSet
from wagtail.documents.api.v2.views import DocumentsAPIViewSet
from wagtail.images.api.v2.views import ImagesAPIViewSet

from forms_engine.api import router as forms_router
from reports.api import router as reports_router
from tracing.api import router as tracing_router

content_api = WagtailAPIRouter("wagtailapi")
content_api.register_endpoint("pages", PagesAPIViewSet)
content_api.register_endpoint("images", ImagesAPIViewSet)
content_api.register_endpoint("documents", DocumentsAPIViewSet)


api_v1 = NinjaAPI(
    title="Outbreak Desk API",
    version="1",
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
api_v1.add_router("/", forms_router)
api_v1.add_router("/", tracing_router)
api_v1.add_router("/", reports_router)
