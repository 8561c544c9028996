"""Translate texts staff send through the LibreTranslate-compatible endpoint, as releases are translated.

The same routes (a pivot through English for Kazakh), glossary, translation memory, sentence checks, retries
and typography as a release's sentences; only the shape differs: plain text keeps its line breaks, HTML its
markup (only text between tags is translated, never inside <script> or <style>). Each text's flagged
sentences come back with it, as an editor would see them.
"""

import html
import re

from sqlite_utils import Database

from feedsvc.errors import InvalidInput
from feedsvc.modelstore import packages
from feedsvc.settings import WorkerSettings
from feedsvc.text.segment import join_paragraph
from feedsvc.text.segment import split_sentences
from feedsvc.textrequests import TextItem
from feedsvc.translation import glossary
from feedsvc.translation import pipeline
from feedsvc.translation import typography
from feedsvc.translation.checks import SentenceCheck

TAG = re.compile(r"(<!--.*?-->|<[^>]*>)", re.DOTALL)
RAW_TEXT = re.compile(r"<(script|style)\b", re.IGNORECASE)
LINE = re.compile(r"(\s*\n\s*)")
EDGES = re.compile(r"^(\s*)(.*?)(\s*)$", re.DOTALL)

# A text as pieces: a str is kept as it is, a list holds one paragraph's sentences to translate.
Pieces = list[str | list[str]]


class NoRoute(InvalidInput):
    """No installed model (nor pivot) translates between these languages."""

    def __init__(self, source: str, target: str):
        """Keep the pair; the message names it."""
        self.source, self.target = source, target
        super().__init__(f"{source} cannot be translated to {target}: no model installed")


def pieces(text: str, text_format: str) -> Pieces:
    """The text as kept pieces and paragraphs of sentences (HTML: tags and raw-text elements are kept)."""
    if text_format != "html":
        return _plain(text)
    result: Pieces = []
    raw = False
    for part in TAG.split(text):
        if TAG.fullmatch(part):
            result.append(part)
            raw = bool(RAW_TEXT.match(part)) or (raw and not re.match(r"</(script|style)", part, re.IGNORECASE))
        else:
            result.extend([part] if raw else _plain(html.unescape(part)))
    return result


def _plain(text: str) -> Pieces:
    """Plain text as pieces: its line breaks and the spaces around each line kept, each line's sentences."""
    result: Pieces = []
    for part in LINE.split(text):
        lead, core, trail = EDGES.match(part).groups()  # type: ignore[union-attr]  # matches any text
        result.extend(piece for piece in (lead, split_sentences(core) if core else "", trail) if piece)
    return result


def translate_items(db: Database, items: list[TextItem], target: str, text_format: str,
                    installed: list[packages.PackageInfo], translate: pipeline.TranslateFn,
                    settings: WorkerSettings) -> list[dict]:
    """Each item translated into ``target`` as {"translatedText", "flags"}, in order; items of one language in
    one batch (one model call per route step)."""
    results: list[dict | None] = [None] * len(items)
    for source in dict.fromkeys(item.source for item in items):
        mine = [i for i, item in enumerate(items) if item.source == source]
        texts = [items[i].text for i in mine]
        translated = (translate_batch(db, texts, source, target, text_format, installed, translate, settings)
                      if source != target else [{"translatedText": text, "flags": []} for text in texts])
        for i, result in zip(mine, translated, strict=True):
            results[i] = result
    return [result for result in results if result is not None]


def translate_batch(db: Database, texts: list[str], source: str, target: str, text_format: str,
                    installed: list[packages.PackageInfo], translate: pipeline.TranslateFn,
                    settings: WorkerSettings) -> list[dict]:
    """Texts of one language translated together along its route, each with its flagged sentences."""
    route = packages.find_route(installed, source, target)
    if route is None:
        raise NoRoute(source, target)
    split = [pieces(text, text_format) for text in texts]
    sentences = [s for parts in split for part in parts if isinstance(part, list) for s in part]
    hypotheses = settings.hypotheses if pipeline.accepts_hypotheses(translate) else 0
    # Every sentence is given as one (a short phrase gets the full stop small models need, taken off after).
    checked, _ = pipeline.translate_texts(db, sentences, route, target, glossary.load_terms(db), translate,
                                          hypotheses, frozenset(sentences))
    done = iter(checked)
    return [_rebuild(parts, done, target, text_format, settings) for parts in split]


def _rebuild(parts: Pieces, done, target: str, text_format: str, settings: WorkerSettings) -> dict:
    """One text put back together from its pieces and its sentences' checks (taken from ``done`` in order)."""
    out, flags = [], []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        group: list[SentenceCheck] = [next(done) for _ in part]
        typeset = typography.apply_sentences([check.output for check in group], target, settings.typography)
        text = join_paragraph(typeset)
        out.append(html.escape(text, quote=False) if text_format == "html" else text)
        flags += [{"source": check.source, "translation": output,
                   "findings": [{"flag": str(f.flag), "reason": f.reason} for f in check.findings]}
                  for check, output in zip(group, typeset, strict=True) if check.findings]
    return {"translatedText": "".join(out), "flags": flags}
