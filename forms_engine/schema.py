"""The one schema of a form version, read by the server's validator and the phone page."""

from django.urls import reverse


def fields_schema(stream) -> list[dict]:
    """Schema entries for a stream of field blocks, each with its block id for tracking."""
    return [{**child.block.to_schema(child.value), "id": child.id} for child in stream]


def iter_fields(fields: list[dict], prefix: str = ""):
    """Every data field with its dotted path (repeat sub-fields as ``contacts.phone``)."""
    for field in fields:
        if not field.get("key"):
            continue
        path = f"{prefix}{field['key']}"
        yield path, field
        if field["type"] == "repeat":
            yield from iter_fields(field.get("fields", []), prefix=f"{path}.")


def form_document(version) -> dict:
    """What ``GET /api/v1/forms/{slug}`` answers: the version's schema and where to send data."""
    form = version.form
    return {
        "slug": form.slug,
        "title": form.title,
        "kind": form.kind,
        "version": version.number,
        "public": form.is_public,
        "url": form.url,
        "submit_url": reverse("api-v1:submission_create", args=[form.slug]),
        "area": {"code": form.area.code, "name": form.area.name, "depth": form.area.depth},
        "fields": version.schema,
    }
