from django.dispatch import receiver
from wagtail.signals import page_published

from .models import FormPage
from .selectors import live_form_forget
from .services import form_version_publish


@receiver(page_published, sender=FormPage)
def freeze_published_form(sender, instance, revision=None, **kwargs):
    form_version_publish(form=instance, revision=revision)
    live_form_forget(instance.slug)
