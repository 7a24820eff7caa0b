"""Accent folding for Vietnamese search: "Khánh Hòa" and "khanh hoa" fold alike."""

import unicodedata

# đ/Đ are letters of their own, not d plus a mark, so NFD leaves them alone.
_LETTERS_WITHOUT_DECOMPOSITION = str.maketrans({"đ": "d", "Đ": "d"})


def fold(text: str) -> str:
    """Lower-case ``text`` with every diacritic removed and spaces collapsed."""
    decomposed = unicodedata.normalize("NFD", text.translate(_LETTERS_WITHOUT_DECOMPOSITION))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())
