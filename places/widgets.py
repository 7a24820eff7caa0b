"""wagtailgeowidget's Leaflet map picker, loading Leaflet from our static files.

The upstream widget links Leaflet from a CDN; the admin must work with no CDN at run time.
"""

from django import forms
from django.utils.functional import cached_property
from wagtailgeowidget.panels import LeafletPanel
from wagtailgeowidget.widgets import LeafletField


class VendoredLeafletField(LeafletField):
    @cached_property
    def media(self):
        return forms.Media(
            css={"all": ("wagtailgeowidget/css/leaflet-field.css", "vendor/leaflet/leaflet.css")},
            js=(
                "vendor/leaflet/leaflet.js",
                "wagtailgeowidget/js/leaflet-field.js",
                "wagtailgeowidget/js/leaflet-field-controller.js",
            ),
        )


class MapPointPanel(LeafletPanel):
    """A point picked on a map; stored as ``SRID=4326;POINT(lng lat)`` text."""

    def widget_overrides(self):
        return {
            self.field_name: VendoredLeafletField(
                address_field=self.address_field,
                zoom_field=self.zoom_field,
                hide_latlng=self.hide_latlng,
                zoom=self.zoom,
                srid=4326,
                id_prefix="id_",
            )
        }
