"""Chinese word segmentation with the domain's words, and pinyin for typing on a phone."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from functools import lru_cache

# pypinyin's dictionaries take about a second to import: it is imported where first used, so
# that starting the app (and every worker process) does not pay for it.

# Words jieba should keep whole: the domain's items and programmes.
DOMAIN_WORDS = [
    "洗衣机", "助学金", "危房改造", "种羊", "建档立卡", "贫困户", "脱贫", "监测户", "易地搬迁",
    "小额信贷", "消费扶贫", "水窖", "地膜", "马铃薯", "小杂粮", "公益岗位", "技能培训",
    "通信资费", "饮水", "养殖", "种植", "电商",
]  # fmt: skip
_ready = threading.Lock()
_loaded = False
_CJK = re.compile(r"[\u4e00-\u9fff]+")


def prepare(extra_words: Iterable[str] = ()) -> None:
    """Load jieba's dictionary once and add the domain's and the regions' names."""
    global _loaded
    with _ready:
        if _loaded:
            return
        import jieba  # its import and dictionary: paid by the first search, not the start

        jieba.setLogLevel(60)
        for word in [*DOMAIN_WORDS, *extra_words]:
            if word:
                jieba.add_word(word, freq=20000)
        _loaded = True


def segment(text: str) -> list[str]:
    prepare()
    return list(_segment(text or ""))


@lru_cache(maxsize=100_000)
def _segment(text: str) -> tuple[str, ...]:
    # Titles, category labels and region names repeat across documents: cut each once.
    import jieba

    return tuple(w.strip() for w in jieba.cut_for_search(text) if w.strip())


@lru_cache(maxsize=100_000)
def _word_pinyin(word: str) -> tuple[str, str]:
    from pypinyin import Style, lazy_pinyin

    return "".join(lazy_pinyin(word)), "".join(lazy_pinyin(word, style=Style.FIRST_LETTER))


def pinyin_tokens(text: str) -> list[str]:
    """Full pinyin and initials of every Chinese word: 洗衣机 -> xiyiji, xyj."""
    prepare()
    tokens: list[str] = []
    for run in _CJK.findall(text or ""):
        for word in {*_segment(run), run}:
            if _CJK.fullmatch(word):
                tokens.extend(_word_pinyin(word))
    return tokens
