"""The APIs: Wagtail's content API (v2, headless pages/images/documents) and ours (v1)."""

from ninja import NinjaAPI
from wagtail.api.v2.router import WagtailAPIRouter
from wagtail.api.v2.views import PagesAPIViewSet
from wagtail.documents.api.v2.views import DocumentsAPIViewSet
from wagtail.images.api.v2.views import ImagesAPIViewSet

from forms_engine.api import TokenGuessing, token_guessing_response
from forms_engine.api import router as forms_router
from reports.api import router as reports_router
from reports.situation_jobs import COLLECTION_NAME as SITUATION_REPORTS_COLLECTION
from tracing.api import router as tracing_router


class PublicDocumentsAPIViewSet(DocumentsAPIViewSet):
    """The content API's documents without the situation reports: those belong to the staff
    of their area (Situation reports in the admin), never to a public listing."""

    def get_queryset(self):
        return super().get_queryset().exclude(collection__name=SITUATION_REPORTS_COLLECTION)


content_api = WagtailAPIRouter("wagtailapi")
content_api.register_endpoint("pages", PagesAPIViewSet)
content_api.register_endpoint("images", ImagesAPIViewSet)
content_api.register_endpoint("documents", PublicDocumentsAPIViewSet)


api_v1 = NinjaAPI(
    title="Outbreak Desk API",
    version="1",
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
api_v1.add_router("/", forms_router)
# Unknown bearer tokens, too many from one IP: 429 with Retry-After (forms_engine.api.caller).
api_v1.add_exception_handler(TokenGuessing, token_guessing_response)
api_v1.add_router("/", tracing_router)
api_v1.add_router("/", reports_router)
