from django.dispatch import receiver
from wagtail.signals import page_published

from .models import FormPage
from .services import form_version_publish


@receiver(page_published, sender=FormPage)
def freeze_published_form(sender, instance, revision=None, **kwargs):
    form_version_publish(form=instance, revision=revision)
