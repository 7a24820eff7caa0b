"""Photos and files for form fields: the type is read from the bytes, never trusted from the client."""

import uuid

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from .models import Upload

# Magic numbers of the types a form may accept.
SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
)
# The stored file's extension comes from the sniffed type, never from the client's file name:
# "photo.html" with a JPEG header is stored as ".jpg", and whatever serves MEDIA_ROOT (Django in
# DEBUG, a proxy in production) then names it image/jpeg, never text/html.
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "application/pdf": ".pdf"}
UNSUPPORTED_TYPE = _("Send a JPEG, PNG, WebP or PDF file.")
TOO_LARGE = _("The file is larger than %(mb)d MB.")


def sniff_type(head: bytes) -> str | None:
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return next((kind for magic, kind in SIGNATURES if head.startswith(magic)), None)


def upload_store(*, file: UploadedFile, user) -> tuple[Upload | None, str | None]:
    """Store an upload after checking its real type and size; (upload, error message)."""
    limit_mb = settings.UPLOAD_MAX_MB
    if file.size > limit_mb * 1024 * 1024:
        return None, str(TOO_LARGE % {"mb": limit_mb})
    head = file.read(16)
    file.seek(0)
    content_type = sniff_type(head)
    if content_type is None:
        return None, str(UNSUPPORTED_TYPE)
    file.name = f"{uuid.uuid4().hex}{EXTENSIONS[content_type]}"
    upload = Upload.objects.create(
        file=file,
        content_type=content_type,
        size=file.size,
        uploaded_by=user if getattr(user, "is_authenticated", False) else None,
    )
    return upload, None
