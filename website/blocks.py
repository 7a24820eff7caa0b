"""The blocks a guidance page is written with: headings, text, images, tables, numbered steps
and a link (with its QR code) to a form.

The same blocks render on the web page and in the PDF (website/print/guidance.html): a
heading's anchor comes from its block id, so the PDF's table of contents can point at it.
"""

from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.contrib.table_block.blocks import TableBlock
from wagtail.images.blocks import ImageChooserBlock

HEADING_LEVELS = [("h2", _("Heading")), ("h3", _("Subheading"))]
TEXT_FEATURES = ["bold", "italic", "ol", "ul", "link", "hr"]


class HeadingBlock(blocks.StructBlock):
    text = blocks.CharBlock(label=_("text"), max_length=200)
    level = blocks.ChoiceBlock(label=_("level"), choices=HEADING_LEVELS, default="h2")

    class Meta:
        icon = "title"
        label = _("Heading")


class ImageBlock(blocks.StructBlock):
    image = ImageChooserBlock(label=_("image"))
    caption = blocks.CharBlock(label=_("caption"), required=False, max_length=300)

    class Meta:
        icon = "image"
        label = _("Image")
        template = "website/blocks/image.html"


class StepBlock(blocks.StructBlock):
    title = blocks.CharBlock(label=_("step"), max_length=200)
    text = blocks.RichTextBlock(label=_("details"), required=False, features=TEXT_FEATURES)


class StepsBlock(blocks.ListBlock):
    def __init__(self, **kwargs):
        super().__init__(StepBlock(), **kwargs)

    class Meta:
        icon = "list-ol"
        label = _("Numbered steps")
        template = "website/blocks/steps.html"


class FormLinkBlock(blocks.StructBlock):
    """A link to a form and the QR code of its address, for readers of the printed guide."""

    form = blocks.PageChooserBlock(label=_("form"), page_type="forms_engine.FormPage")
    text = blocks.CharBlock(
        label=_("link text"), required=False, max_length=200, help_text=_("Empty: the form's title.")
    )

    class Meta:
        icon = "link"
        label = _("Link to a form (with QR code)")
        template = "website/blocks/form_link.html"

    def get_context(self, value, parent_context=None):
        from .guidance import form_absolute_url, qr_svg

        context = super().get_context(value, parent_context=parent_context)
        form = value.get("form")
        form = form.specific if form is not None and form.live else None
        url = form_absolute_url(form) if form else None
        context.update(form=form, url=url, qr=qr_svg(url) if url else "")
        return context


class GuidanceBodyBlock(blocks.StreamBlock):
    heading = HeadingBlock()
    paragraph = blocks.RichTextBlock(label=_("Text"), icon="pilcrow", features=TEXT_FEATURES)
    image = ImageBlock()
    table = TableBlock(label=_("Table"))
    steps = StepsBlock()
    form_link = FormLinkBlock()
