"""QR posters: a printable A4 sheet that sends phones to a place's health-declaration form.

The QR holds ``<form URL>?qr=<place code>``. One layout (in millimetres, measured with
the poster's own fonts) feeds the SVG and the raster (PNG, PDF) renderers, so that every
format looks the same. The poster is Vietnamese whatever the admin's language.
"""

import io
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlencode, urlsplit
from xml.sax.saxutils import escape

import segno
from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageDraw, ImageFont

from places.models import Place
from places.selectors import area_ancestors

from .models import KIND_HEALTH_DECLARATION, FormPage, FormVersion

POSTER_LANGUAGE = "vi"
# Translators: the poster's title, in capital letters.
TITLE = _("HEALTH DECLARATION")
CALL_TO_ACTION = _("Scan the QR code to make a health declaration")
CODE_LABEL = _("Code: %(code)s")

# Posters get scuffed, wet and photographed at an angle: Q restores up to 25% damage.
QR_ERROR = "q"
QR_BORDER = 4  # the quiet zone the QR standard asks for, in modules
DPI = 300  # print quality; a module of the QR is then 30 pixels or more

PAGE_WIDTH, PAGE_HEIGHT = 210, 297  # A4 portrait, millimetres
MARGIN = 15
TEXT_WIDTH = PAGE_WIDTH - 2 * MARGIN
QR_SIZE = 150  # millimetres, quiet zone included: scannable from a couple of metres
FONT_FAMILY = "Noto Sans, sans-serif"
# Fonts with Vietnamese glyphs, best first (Debian's fonts-noto-core, then DejaVu, Liberation).
FONT_FILES = {
    False: (
        "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    ),
    True: (
        "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    ),
}
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


# --- Which form, which URL -------------------------------------------------------------


def declaration_form_for(place: Place) -> FormPage | None:
    """The public health-declaration form a poster of ``place`` should open.

    The form of the smallest area that contains the place's; failing that, any such form
    (the broadest first): a poster that opens some declaration beats no poster.
    """
    forms = _declaration_forms()
    covering = forms.filter(area__in=area_ancestors(area=place.area, include_self=True))
    return covering.order_by("-area__depth", "pk").first() or forms.order_by("area__depth", "pk").first()


def _declaration_forms():
    # Without a published version the public page cannot take submissions.
    published = FormVersion.objects.filter(form=OuterRef("pk"))
    return (
        FormPage.objects.live()
        .public()
        .filter(kind=KIND_HEALTH_DECLARATION, is_public=True)
        .filter(Exists(published))
    )


def declaration_url(place: Place, *, form: FormPage, base_url: str | None = None) -> str:
    """The absolute URL in the QR: the form's public address, bound to the place by ``?qr=``.

    The Site serving the form gives the host, unless it names a loopback host (Wagtail's
    default Site is ``localhost``, useless to a phone): then ``base_url``, by default
    ``WAGTAILADMIN_BASE_URL``, does.
    """
    base_url = base_url or settings.WAGTAILADMIN_BASE_URL
    parts = form.get_url_parts()
    if parts is None:
        # No Site covers the form: assume one rooted at the top of the page tree.
        root, path = base_url, form.url_path
    else:
        _site_id, root, path = parts
        if urlsplit(root).hostname in LOOPBACK_HOSTS:
            root = base_url
    return f"{root.rstrip('/')}{path}?{urlencode({'qr': place.code})}"


# --- Layout ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One centred line of text; ``y`` is its baseline. All in millimetres."""

    text: str
    y: float
    size: float
    bold: bool = False


@dataclass(frozen=True)
class Layout:
    lines: list[Line]
    qr_x: float
    qr_y: float


class _Measure:
    """Text widths in millimetres, from the fonts the PNG is drawn with."""

    REFERENCE_PX = 200

    def __init__(self):
        self.fonts = {bold: _font(bold, self.REFERENCE_PX) for bold in (False, True)}

    def __call__(self, text: str, size: float, bold: bool) -> float:
        font = self.fonts[bold]
        return font.getlength(text) / getattr(font, "size", self.REFERENCE_PX) * size


class _Flow:
    """Stacks blocks of wrapped, shrink-to-fit lines from the top of the page down."""

    def __init__(self, y: float):
        self.y = y
        self.lines: list[Line] = []
        self.measure = _Measure()

    def block(self, text: str, *, size: float, max_lines: int, bold: bool = False, gap: float = 0):
        texts, size = self._fit(_clean(text), size, max_lines, bold)
        for text in texts:
            self.lines.append(Line(text, self.y + size, size, bold))
            self.y += size * 1.3
        self.y += gap

    def _fit(self, text: str, size: float, max_lines: int, bold: bool) -> tuple[list[str], float]:
        """The text at the largest of three sizes that fits in ``max_lines``, else cut short."""
        for factor in (1, 0.85):
            lines = self._wrap(text, size * factor, bold)
            if len(lines) <= max_lines:
                return lines, size * factor
        smallest = size * 0.7
        lines = self._wrap(text, smallest, bold)
        if len(lines) > max_lines:
            lines = self._truncate(lines, max_lines, smallest, bold)
        return lines, smallest

    def _wrap(self, text: str, size: float, bold: bool) -> list[str]:
        def fits(candidate: str) -> bool:
            return self.measure(candidate, size, bold) <= TEXT_WIDTH

        lines, current = [], ""
        for word in text.split():
            candidate = f"{current} {word}".strip()
            if fits(candidate):
                current = candidate
                continue
            if current:
                lines.append(current)
            current = word
            while not fits(current):  # a word wider than the page (a URL): break it anywhere
                cut = max([1, *(n for n in range(2, len(current)) if fits(current[:n]))])
                lines.append(current[:cut])
                current = current[cut:]
        return [*lines, current] if current else lines

    def _truncate(self, lines: list[str], max_lines: int, size: float, bold: bool) -> list[str]:
        last = lines[max_lines - 1]
        while last and self.measure(f"{last}…", size, bold) > TEXT_WIDTH:
            last = last[:-1]
        return [*lines[: max_lines - 1], f"{last.rstrip()}…"]


def poster_layout(place: Place, url: str) -> Layout:
    with translation.override(POSTER_LANGUAGE):
        title, call = str(TITLE), str(CALL_TO_ACTION)
        code = str(CODE_LABEL) % {"code": place.code}
    flow = _Flow(y=18)
    flow.block(title, size=15, max_lines=1, bold=True, gap=2)
    flow.block(call, size=7, max_lines=2, gap=4)
    qr_y = flow.y
    flow.y += QR_SIZE
    flow.block(url, size=3.5, max_lines=2, gap=6)
    flow.block(place.name, size=10, max_lines=2, bold=True, gap=2)
    flow.block(code, size=7, max_lines=1, bold=True, gap=2)
    if place.address:
        flow.block(place.address, size=5.5, max_lines=3)
    return Layout(flow.lines, qr_x=(PAGE_WIDTH - QR_SIZE) / 2, qr_y=qr_y)


def _clean(text: str) -> str:
    """NFC (the fonts have precomposed Vietnamese letters), without control characters,
    which XML forbids and fonts cannot draw."""
    text = unicodedata.normalize("NFC", text)
    return " ".join("".join(c for c in text if unicodedata.category(c) != "Cc").split())


def _qr(url: str) -> segno.QRCode:
    return segno.make_qr(url, error=QR_ERROR)


# --- SVG -------------------------------------------------------------------------------


def poster_svg(place: Place, url: str) -> str:
    layout = poster_layout(place, url)
    qr = _qr(url)
    scale = QR_SIZE / qr.symbol_size(border=QR_BORDER)[0]
    qr_svg = qr.svg_inline(scale=1, border=QR_BORDER, dark="#000", light="#fff")
    texts = "\n".join(_svg_text(line) for line in layout.lines)
    title = escape(f"{layout.lines[0].text} — {_clean(place.name)}")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" xml:lang="{POSTER_LANGUAGE}" '
        f'width="{PAGE_WIDTH}mm" height="{PAGE_HEIGHT}mm" viewBox="0 0 {PAGE_WIDTH} {PAGE_HEIGHT}" '
        f'font-family="{FONT_FAMILY}" text-anchor="middle">\n'
        f"<title>{title}</title>\n"
        f'<rect width="{PAGE_WIDTH}" height="{PAGE_HEIGHT}" fill="#fff"/>\n'
        f"{texts}\n"
        f'<g transform="translate({_n(layout.qr_x)} {_n(layout.qr_y)}) scale({_n(scale)})" '
        f'shape-rendering="crispEdges">{qr_svg}</g>\n'
        "</svg>\n"
    )


def _svg_text(line: Line) -> str:
    weight = ' font-weight="bold"' if line.bold else ""
    return (
        f'<text x="{_n(PAGE_WIDTH / 2)}" y="{_n(line.y)}" font-size="{_n(line.size)}"{weight}>'
        f"{escape(line.text)}</text>"
    )


def _n(number: float) -> str:
    return f"{number:.4f}".rstrip("0").rstrip(".")


# --- PNG and PDF -----------------------------------------------------------------------


def poster_png(place: Place, url: str) -> bytes:
    buffer = io.BytesIO()
    poster_image(place, url).save(buffer, "PNG", dpi=(DPI, DPI))
    return buffer.getvalue()


def poster_pdf(place: Place, url: str) -> bytes:
    # Black and white: Pillow then stores it losslessly (CCITT G4) instead of as a JPEG.
    image = poster_image(place, url).convert("1", dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    image.save(buffer, "PDF", resolution=DPI, title=f"QR {place.code}")
    return buffer.getvalue()


def poster_image(place: Place, url: str) -> Image.Image:
    """The poster as a greyscale A4 image at ``DPI``."""
    layout = poster_layout(place, url)
    image = Image.new("L", (_px(PAGE_WIDTH), _px(PAGE_HEIGHT)), 255)
    draw = ImageDraw.Draw(image)
    for line in layout.lines:
        font = _font(line.bold, _px(line.size))
        draw.text((_px(PAGE_WIDTH / 2), _px(line.y)), line.text, fill=0, font=font, anchor="ms")
    qr = _qr_image(url)
    offset = (_px(QR_SIZE) - qr.width) // 2  # centred in its box
    image.paste(qr, (_px(layout.qr_x) + offset, _px(layout.qr_y) + offset))
    return image


def _qr_image(url: str) -> Image.Image:
    qr = _qr(url)
    # Whole pixels per module keep every module the same size and its edges sharp.
    scale = max(1, _px(QR_SIZE) // qr.symbol_size(border=QR_BORDER)[0])
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=scale, border=QR_BORDER)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("L")


def _px(millimetres: float) -> int:
    return round(millimetres * DPI / 25.4)


def _font(bold: bool, px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # Loaded per use: a FreeType face must not be shared between threads.
    path = font_path(bold)
    return ImageFont.truetype(path, px) if path else ImageFont.load_default(px)


@lru_cache
def font_path(bold: bool) -> str | None:
    """The first installed font with Vietnamese glyphs; None falls back to Pillow's own."""
    return next((path for path in FONT_FILES[bold] if Path(path).is_file()), None)
