"""Logins are recorded too: who opened a session, when, from where (django-axes keeps only the
failures, website/security.py). A failure to record never stops the login."""

import logging

from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.dispatch import receiver

from .services import access_record

logger = logging.getLogger(__name__)

ACTION_LOGIN = "login"
KIND_SESSION = "session"


@receiver(user_logged_in, dispatch_uid="audit_login_record")
def login_record(sender, request, user, **kwargs):
    if request is None:
        return
    try:
        with transaction.atomic():  # a failure here must not spoil the login's own transaction
            access_record(
                request=request, user=user, action=ACTION_LOGIN, kind=KIND_SESSION, outcome="logged_in"
            )
    except Exception as error:
        logger.error("audit: could not record a login (%s)", type(error).__name__)
