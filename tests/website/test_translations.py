"""Every string of ours has its Vietnamese, and the committed .mo matches the .po."""

import gettext
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = [ROOT / "locale", ROOT / "locale_overrides"]


def po_entries(path: Path):
    """(msgctxt, msgid, msgstr, fuzzy) of each singular entry of a .po file."""
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        if block.lstrip().startswith("#~") or "msgid_plural" in block:
            continue
        fields = {}
        for name in ("msgctxt", "msgid", "msgstr"):
            match = re.search(rf'^{name} ((?:".*"\n?)+)', block + "\n", re.M)
            if match:
                fields[name] = (
                    "".join(re.findall(r'"(.*)"', match.group(1))).replace('\\"', '"').replace("\\n", "\n")
                )
        if fields.get("msgid"):
            yield fields.get("msgctxt"), fields["msgid"], fields.get("msgstr", ""), "#, fuzzy" in block


def test_our_strings_are_all_translated():
    entries = list(po_entries(ROOT / "locale/vi/LC_MESSAGES/django.po"))
    assert entries
    untranslated = [msgid for _, msgid, msgstr, fuzzy in entries if not msgstr or fuzzy]
    assert untranslated == [], "run `make messages` and translate these"


def test_compiled_catalogues_match_their_sources():
    for localedir in CATALOGUES:
        po = localedir / "vi/LC_MESSAGES/django.po"
        if not po.exists():
            continue
        compiled = gettext.translation("django", localedir, ["vi"])
        for msgctxt, msgid, msgstr, fuzzy in po_entries(po):
            if msgstr and not fuzzy and msgctxt is None:
                assert compiled.gettext(msgid) == msgstr, f"{po}: recompile (msgfmt) for {msgid!r}"
