"""Accent folding for Vietnamese search ("Khánh Hòa" and "khanh hoa" fold alike), and names'
initials as papers and hints show them."""

import unicodedata

# đ/Đ are letters of their own, not d plus a mark, so NFD leaves them alone.
_LETTERS_WITHOUT_DECOMPOSITION = str.maketrans({"đ": "d", "Đ": "d"})


def fold(text: str) -> str:
    """Lower-case ``text`` with every diacritic removed and spaces collapsed."""
    decomposed = unicodedata.normalize("NFD", text.translate(_LETTERS_WITHOUT_DECOMPOSITION))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())


# Tone marks are not letters: "Ánh" starts with A. Â, Ă, Ê, Ô, Ơ, Ư and Đ are letters of their own.
TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def initials(name: str) -> str:
    """The initials of a name, "N. T. H." for "Nguyễn Thị Hường": each word's first letter,
    capital, without its tone mark but with what makes it a letter of its own ("Đặng Ứng" →
    "Đ. Ư.": Đ, Ư, Â, Ă, Ê, Ô, Ơ are letters of the Vietnamese alphabet; tones are not)."""
    letters = []
    for word in unicodedata.normalize("NFC", name or "").split():
        first = next((ch for ch in word if ch.isalpha()), None)
        if first is None:
            continue
        decomposed = unicodedata.normalize("NFD", first)
        bare = "".join(ch for ch in decomposed if ch not in TONE_MARKS)
        letters.append(unicodedata.normalize("NFC", bare).upper() + ".")
    return " ".join(letters)
