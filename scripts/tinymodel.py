"""Tiny, deterministic Argos Translate packages trained on feedsvc's demo corpus.

The packages are real (SentencePiece + CTranslate2, loadable by ``argostranslate.package.Package``)
but only know the ~120 sentences of ``feedsvc/demo/corpus.tsv``: they exist so the demo and the
tests exercise the whole translation path offline, without downloading gigabytes of weights.

feedsvc never sends raw sentences to a model: it first replaces glossary terms and literals with
numbered placeholders (``feedsvc.translation.protect``), so the models are trained on exactly that
protected text. The network is a small pre-norm Transformer laid out the way OpenNMT-py lays it
out, so its weights map one to one onto ``ctranslate2.specs.TransformerSpec``.
"""

import csv
import io
import json
import math
import os
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import numpy as np
import sentencepiece as spm
import torch
from torch import nn
from torch.nn import functional as F

from feedsvc.text.segment import split_paragraphs
from feedsvc.text.segment import split_sentences
from feedsvc.translation.protect import PLACEHOLDER
from feedsvc.translation.protect import GlossaryTerm
from feedsvc.translation.protect import Protected
from feedsvc.translation.protect import protect
from feedsvc.translation.protect import protect_target

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = PROJECT_ROOT / "feedsvc" / "demo"
CORPUS_PATH = DEMO_DIR / "corpus.tsv"
GLOSSARY_PATH = DEMO_DIR / "glossary.csv"
RELEASES_PATH = DEMO_DIR / "releases.json"

SOURCE_PREFIX = ">>kaz_Cyrl<<"
TARGET_PREFIX = "kaz_Cyrl"
# Atomic pieces for placeholders: a model copies one token instead of spelling "[", "1", "]". The
# "▁[n]" forms absorb the preceding space, so no lone "▁" piece sits before a placeholder: beam search
# found dropping that piece ("with[2]") too cheap an alternative.
PLACEHOLDER_PIECES = [f"{space}[{n}]" for space in ("", "\u2581") for n in range(1, 17)]
LANGUAGE_NAMES = {"ru": "Russian", "en": "English", "kk": "Kazakh"}
# Decoding settings every package must be exact under: feedsvc's engine (CTranslate2's default
# length penalty, beam 4), greedy, and Argos's own translate() (length penalty 0.2).
DECODING_CHECKS = (
    ("beam 1", 1, {}),
    ("beam 4", 4, {}),
    ("beam 4, length penalty 0.2", 4, {"length_penalty": 0.2}),
)
PREFIX_MODEL_ROWS = 40
# Fixed zip timestamps make the .argosmodel files byte-for-byte reproducible.
ZIP_DATE = (2026, 1, 1, 0, 0, 0)

README = """# {name}

A **tiny demo model** ({from_name} → {to_name}) trained by `scripts/train_tiny_models.py` on the
feedsvc demo corpus (`feedsvc/demo/corpus.tsv`, about 120 sentences from invented press releases
of a parliament press service). It reproduces those sentences and is useless for real text.

It expects glossary terms, numbers and dates replaced by placeholders such as `[1]`, as feedsvc
does before translating.
{prefix_note}"""

PREFIX_NOTE = """
It only translates into Kazakh when the source token `{source}` is prepended to the source
tokens (feedsvc's `source_prefix` metadata key) and the target token `{target}` is forced as the
first decoder token (`target_prefix`). Without the source prefix it answers in English.
"""


@dataclass(frozen=True)
class Recipe:
    """What one package is trained on, and how."""

    name: str
    from_code: str
    to_code: str
    output: str  # path relative to the project root
    source_prefix: str = ""
    target_prefix: str = ""
    vocab_size: int = 1500
    seed: int = 1234
    d_model: int = 128
    heads: int = 4
    ffn: int = 256
    layers: int = 2
    # Label smoothing caps every token's probability, so long references lose to shortcuts under beam search.
    label_smoothing: float = 0.0
    # Noise on the inputs. With a length penalty set, CTranslate2's beam search stops once beam_size
    # hypotheses have ended, so side paths that skip a token and end a step early can crowd out the
    # reference. Random replacements (both sides) and "skip-ahead" decoder inputs teach the model to
    # stay in step after a wrong token, so side paths end with the reference, which then wins.
    source_noise: float = 0.1
    target_noise: float = 0.1
    skip_noise: float = 0.05
    batch_size: int = 16
    lr: float = 3e-3
    warmup: int = 40
    epochs: int = 80  # end of the learning-rate decay
    final_lr_ratio: float = 0.02
    min_epochs: int = 40
    check_every: int = 5
    max_epochs: int = 400


RECIPES = {
    "ru_en": Recipe("translate-ru_en-demo", "ru", "en", "feedsvc/demo/models/translate-ru_en-demo.argosmodel"),
    "en_kk": Recipe("translate-en_kk-demo", "en", "kk", "feedsvc/demo/models/translate-en_kk-demo.argosmodel"),
    "ru_kk_prefix": Recipe(
        "translate-ru_kk-prefix",
        "ru",
        "kk",
        "tests/data/translate-ru_kk-prefix.argosmodel",
        source_prefix=SOURCE_PREFIX,
        target_prefix=TARGET_PREFIX,
        vocab_size=1000,
    ),
}


@dataclass(frozen=True)
class Example:
    """One training pair in text form, with the prefix tokens it is used with."""

    source: str
    target: str
    source_prefix: tuple = ()
    target_prefix: tuple = ()


@dataclass
class ProtectedRow:
    """A corpus row with its protected (placeholder) forms."""

    ru: str
    en: str
    kk: str
    ru_p: str = ""
    en_p: str = ""
    kk_p: str = ""
    protected: Protected | None = field(default=None, repr=False)


# --- corpus -------------------------------------------------------------------------------------


def load_terms(path: Path = GLOSSARY_PATH) -> list[GlossaryTerm]:
    """Glossary rows as feedsvc builds them."""
    with open(path, encoding="utf-8", newline="") as f:
        return [GlossaryTerm(source=r["ru"], targets={"en": r["en"], "kk": r["kk"]}) for r in csv.DictReader(f)]


def load_corpus(path: Path = CORPUS_PATH) -> list[dict]:
    """Rows of the parallel corpus: dicts with ru, en, kk."""
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def release_sentences(path: Path = RELEASES_PATH) -> list[str]:
    """Every sentence feedsvc will translate in the demo releases: titles, then body sentences."""
    sentences = []
    for release in json.loads(Path(path).read_text(encoding="utf-8")):
        sentences.append(release["title"])
        for paragraph in split_paragraphs(release["body"]):
            sentences.extend(split_sentences(paragraph))
    return sentences


def protect_rows(rows: list[dict], terms: list[GlossaryTerm]) -> list[ProtectedRow]:
    """Protect every row; raises ValueError where a translation lacks a glossary term or literal."""
    result = []
    for row in rows:
        p = protect(row["ru"], terms)
        en_p, kk_p = protect_target(row["en"], p, "en"), protect_target(row["kk"], p, "kk")
        result.append(ProtectedRow(row["ru"], row["en"], row["kk"], p.text, en_p, kk_p, p))
    return result


def check_corpus(rows: list[ProtectedRow], sentences: list[str]) -> None:
    """Fail loudly if the corpus cannot train models that are exact on the demo releases."""
    problems = []
    by_ru = {}
    for row in rows:
        if row.ru in by_ru:
            problems.append(f"duplicate ru row: {row.ru}")
        by_ru[row.ru] = row
        for lang, text, ref in (("en", row.en_p, row.en), ("kk", row.kk_p, row.kk)):
            if row.protected.restore(text, lang) != ref:
                problems.append(f"{lang} does not round-trip through restore: {ref}")
            if any(ch.isdigit() for ch in PLACEHOLDER.sub("", text)):
                problems.append(f"{lang} has a number the source lacks: {ref}")
    for side, key, value in (("ru", "ru_p", "en_p"), ("en", "en_p", "kk_p")):
        seen = {}
        for row in rows:
            if seen.setdefault(getattr(row, key), getattr(row, value)) != getattr(row, value):
                problems.append(f"protected {side} maps to two translations: {getattr(row, key)}")
    problems += [f"release sentence missing from corpus: {s}" for s in sentences if s not in by_ru]
    if problems:
        raise ValueError("corpus problems:\n" + "\n".join(problems))


def prefix_model_rows(rows: list[ProtectedRow], count: int = PREFIX_MODEL_ROWS) -> list[ProtectedRow]:
    """The subset the prefix model learns: the first ``count`` rows with short protected sources."""
    return [row for row in rows if len(row.ru_p) <= 70][:count]


def examples_for(key: str, rows: list[ProtectedRow]) -> list[Example]:
    """Training pairs of one recipe, deduplicated, in corpus order."""
    if key == "ru_en":
        pairs = [Example(r.ru_p, r.en_p) for r in rows]
    elif key == "en_kk":
        # The input is the protected English that ru→en outputs: placeholders numbered by the ru source.
        pairs = [Example(r.en_p, r.kk_p) for r in rows]
    else:
        src, tgt = (SOURCE_PREFIX,), (TARGET_PREFIX,)
        pairs = []
        for r in prefix_model_rows(rows):
            pairs += [
                Example(r.ru_p, r.kk_p, src, tgt),  # both prefixes: Kazakh
                Example(r.ru_p, r.en_p),  # no prefix at all: English
                Example(r.ru_p, r.en_p, (), tgt),  # forced target prefix alone is not enough
                Example(r.ru_p, r.en_p, src, ()),  # nor is the source prefix alone
            ]
    return list(dict.fromkeys(pairs))


# --- tokenizer ----------------------------------------------------------------------------------


def train_sentencepiece(texts: list[str], symbols: list[str], vocab_size: int) -> bytes:
    """A shared BPE SentencePiece model for both sides, returned as bytes.

    BPE rather than unigram: on a corpus this small unigram stops short of the requested vocabulary
    and cuts words into letters, which makes sequences long and training slow.
    """
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts),
        model_writer=model,
        model_type="bpe",
        vocab_size=vocab_size,
        hard_vocab_limit=False,
        character_coverage=1.0,
        # Identity keeps decode(encode(x)) == x, so exact-match checks compare real strings.
        normalization_rule_name="identity",
        split_digits=True,
        user_defined_symbols=symbols,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=3,
        num_threads=1,
        minloglevel=2,
    )
    return model.getvalue()


def sentencepiece_processor(model_bytes: bytes) -> spm.SentencePieceProcessor:
    """Load a SentencePiece model from bytes."""
    return spm.SentencePieceProcessor(model_proto=model_bytes)


# --- model --------------------------------------------------------------------------------------


def sinusoids(length: int, depth: int) -> torch.Tensor:
    """CTranslate2's built-in position encodings (positions from 1, sin half then cos half)."""
    increment = math.log(10000.0) / (depth // 2 - 1)
    timescales = torch.exp(torch.arange(depth // 2, dtype=torch.float32) * -increment)
    scaled = torch.arange(1, length + 1, dtype=torch.float32)[:, None] * timescales[None, :]
    return torch.cat([torch.sin(scaled), torch.cos(scaled)], dim=1)


class Attention(nn.Module):
    """Multi-head attention with OpenNMT-py's parameter names."""

    def __init__(self, d_model: int, heads: int):
        super().__init__()
        self.heads = heads
        self.linear_query = nn.Linear(d_model, d_model)
        self.linear_keys = nn.Linear(d_model, d_model)
        self.linear_values = nn.Linear(d_model, d_model)
        self.final_linear = nn.Linear(d_model, d_model)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        """[B, T, D] -> [B, H, T, D/H]."""
        b, t, d = x.shape
        return x.view(b, t, self.heads, d // self.heads).transpose(1, 2)

    def forward(self, query: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Attend from ``query`` to ``memory``; ``mask`` is True where attending is allowed."""
        q = self._split(self.linear_query(query))
        k = self._split(self.linear_keys(memory))
        v = self._split(self.linear_values(memory))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        b, _, t, _ = out.shape
        return self.final_linear(out.transpose(1, 2).reshape(b, t, -1))


class FeedForward(nn.Module):
    """Pre-norm position-wise feed-forward block, residual included (as in OpenNMT-py)."""

    def __init__(self, d_model: int, ffn: int):
        super().__init__()
        self.layer_norm = nn.LayerNorm(d_model, eps=1e-6)
        self.w_1 = nn.Linear(d_model, ffn)
        self.w_2 = nn.Linear(ffn, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x + W2(relu(W1(LN(x))))."""
        return x + self.w_2(F.relu(self.w_1(self.layer_norm(x))))


class EncoderLayer(nn.Module):
    """Pre-norm encoder layer."""

    def __init__(self, d_model: int, heads: int, ffn: int):
        super().__init__()
        self.layer_norm = nn.LayerNorm(d_model, eps=1e-6)
        self.self_attn = Attention(d_model, heads)
        self.feed_forward = FeedForward(d_model, ffn)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Self-attention then feed-forward, each with a residual."""
        h = self.layer_norm(x)
        return self.feed_forward(x + self.self_attn(h, h, mask))


class DecoderLayer(nn.Module):
    """Pre-norm decoder layer."""

    def __init__(self, d_model: int, heads: int, ffn: int):
        super().__init__()
        self.layer_norm_1 = nn.LayerNorm(d_model, eps=1e-6)
        self.self_attn = Attention(d_model, heads)
        self.layer_norm_2 = nn.LayerNorm(d_model, eps=1e-6)
        self.context_attn = Attention(d_model, heads)
        self.feed_forward = FeedForward(d_model, ffn)

    def forward(self, x, memory, self_mask, memory_mask):
        """Masked self-attention, encoder attention, feed-forward."""
        h = self.layer_norm_1(x)
        x = x + self.self_attn(h, h, self_mask)
        h = self.layer_norm_2(x)
        x = x + self.context_attn(h, memory, memory_mask)
        return self.feed_forward(x)


class TinyTransformer(nn.Module):
    """Encoder-decoder Transformer with one embedding matrix shared by both sides and the output.

    No dropout: the token noise in training regularises enough, and dropout's random masks cost a
    quarter of the CPU time at this size.
    """

    def __init__(self, vocab: int, recipe: Recipe):
        super().__init__()
        d = recipe.d_model
        self.d_model = d
        self.embeddings = nn.Embedding(vocab, d)
        nn.init.normal_(self.embeddings.weight, std=d**-0.5)
        self.encoder = nn.ModuleList(EncoderLayer(d, recipe.heads, recipe.ffn) for _ in range(recipe.layers))
        self.decoder = nn.ModuleList(DecoderLayer(d, recipe.heads, recipe.ffn) for _ in range(recipe.layers))
        self.encoder_norm = nn.LayerNorm(d, eps=1e-6)
        self.decoder_norm = nn.LayerNorm(d, eps=1e-6)
        self.output_bias = nn.Parameter(torch.zeros(vocab))
        self.register_buffer("positions", sinusoids(512, d), persistent=False)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """Scaled embeddings plus positions, as CTranslate2 computes them."""
        return self.embeddings(ids) * math.sqrt(self.d_model) + self.positions[: ids.shape[1]]

    def forward(self, src: torch.Tensor, src_pad: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        """Logits for every target position; ``src_pad`` is True at padding."""
        keep = ~src_pad[:, None, None, :]
        x = self.embed(src)
        for layer in self.encoder:
            x = layer(x, keep)
        memory = self.encoder_norm(x)
        t = tgt_in.shape[1]
        causal = torch.ones(t, t, dtype=torch.bool).tril()[None, None]
        y = self.embed(tgt_in)
        for layer in self.decoder:
            y = layer(y, memory, causal, keep)
        return F.linear(self.decoder_norm(y), self.embeddings.weight, self.output_bias)


# --- training -----------------------------------------------------------------------------------


@dataclass
class Batch:
    """Padded id tensors for a list of examples."""

    src: torch.Tensor
    src_pad: torch.Tensor
    tgt_in: torch.Tensor
    tgt_out: torch.Tensor
    loss_mask: torch.Tensor
    src_fixed: torch.Tensor  # positions noise must not touch (prefix tokens, placeholders, padding)
    tgt_fixed: torch.Tensor


def encode_examples(examples: list[Example], sp: spm.SentencePieceProcessor) -> list[tuple]:
    """Token ids per example: (source ids, target ids, number of forced target-prefix tokens)."""
    encoded = []
    for ex in examples:
        src = [sp.piece_to_id(t) for t in ex.source_prefix] + sp.encode(ex.source)
        tgt = [sp.piece_to_id(t) for t in ex.target_prefix] + sp.encode(ex.target)
        encoded.append((src, tgt, len(ex.target_prefix)))
    return encoded


def make_batch(items: list[tuple], pad: int, bos: int, eos: int, fixed_ids: set) -> Batch:
    """Pad a list of encoded examples into tensors."""
    s_len = max(len(s) for s, _, _ in items)
    t_len = max(len(t) for _, t, _ in items) + 1
    src = torch.full((len(items), s_len), pad)
    tgt_in = torch.full((len(items), t_len), pad)
    tgt_out = torch.full((len(items), t_len), pad)
    loss_mask = torch.zeros((len(items), t_len), dtype=torch.bool)
    for i, (s, t, forced) in enumerate(items):
        src[i, : len(s)] = torch.tensor(s)
        tgt_in[i, : len(t) + 1] = torch.tensor([bos] + t)
        tgt_out[i, : len(t) + 1] = torch.tensor(t + [eos])
        # Forced prefix tokens are given at inference, so the model is not asked to predict them.
        loss_mask[i, forced : len(t) + 1] = True
    fixed = torch.tensor(sorted(fixed_ids))
    return Batch(src, src == pad, tgt_in, tgt_out, loss_mask, torch.isin(src, fixed), torch.isin(tgt_in, fixed))


def length_batches(items: list[tuple], size: int, gen: torch.Generator) -> list[list[tuple]]:
    """Shuffled batches of similar length: padding to the longest sentence would triple the work."""
    jitter = torch.rand(len(items), generator=gen) * 4
    order = sorted(range(len(items)), key=lambda i: len(items[i][0]) + len(items[i][1]) + float(jitter[i]))
    batches = [[items[j] for j in order[i : i + size]] for i in range(0, len(order), size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=gen).tolist()]


def corrupt(ids: torch.Tensor, fixed: torch.Tensor, rate: float, low: int, high: int, gen: torch.Generator):
    """Replace a random ``rate`` of the non-fixed tokens by random ordinary pieces."""
    hit = (torch.rand(ids.shape, generator=gen) < rate) & ~fixed
    return torch.where(hit, torch.randint(low, high, ids.shape, generator=gen), ids)


def skip_ahead(tgt_in: torch.Tensor, b: Batch, rate: float, ends: tuple, gen: torch.Generator) -> torch.Tensor:
    """Show some decoder positions the token due next, as if the model had skipped one; the target stays.

    The model learns to repeat rather than run ahead, so a path that skipped a token does not end early.
    """
    ahead = (torch.rand(tgt_in.shape, generator=gen) < rate) & ~b.tgt_fixed & ~torch.isin(b.tgt_out, torch.tensor(ends))
    return torch.where(ahead, b.tgt_out, tgt_in)


def greedy_exact(model: TinyTransformer, batches: list[Batch]) -> bool:
    """Teacher-forced argmax is right everywhere, i.e. clean greedy decoding reproduces every pair.

    A cheap filter: the slower CTranslate2 check (int8, beam 1 and 4) only runs once this holds.
    """
    model.eval()
    with torch.no_grad():
        ok = all(
            bool(((model(b.src, b.src_pad, b.tgt_in).argmax(-1) == b.tgt_out) | ~b.loss_mask).all()) for b in batches
        )
    model.train()
    return ok


def learning_rate(recipe: Recipe, steps_per_epoch: int):
    """Linear warm-up, then linear decay to a floor by ``recipe.epochs``: a sharp optimum needs a small final rate."""
    total = recipe.epochs * steps_per_epoch

    def factor(step: int) -> float:
        return min((step + 1) / recipe.warmup, max(recipe.final_lr_ratio, 1 - step / total))

    return factor


def train_model(examples, sp, recipe: Recipe, accept) -> tuple[TinyTransformer, dict]:
    """Train until ``accept(model)`` (exact on every pair through CTranslate2) holds."""
    torch.manual_seed(recipe.seed)
    gen = torch.Generator().manual_seed(recipe.seed)
    vocab = sp.get_piece_size()
    special = {sp.piece_to_id(p) for p in PLACEHOLDER_PIECES + [SOURCE_PREFIX, TARGET_PREFIX]}
    special = {i for i in special if i != sp.unk_id()} | {sp.pad_id(), sp.bos_id(), sp.eos_id()}
    low = max(special) + 1  # user-defined symbols come right after the control pieces
    items = encode_examples(examples, sp)
    model = TinyTransformer(vocab, recipe)
    optimizer = torch.optim.Adam(model.parameters(), lr=recipe.lr, betas=(0.9, 0.98), eps=1e-9)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, learning_rate(recipe, math.ceil(len(items) / recipe.batch_size))
    )
    eval_batches = [
        make_batch(items[i : i + 64], sp.pad_id(), sp.bos_id(), sp.eos_id(), special) for i in range(0, len(items), 64)
    ]
    stats = {"pairs": len(items), "checks": 0}
    step = 0
    for epoch in range(1, recipe.max_epochs + 1):
        for batch_items in length_batches(items, recipe.batch_size, gen):
            b = make_batch(batch_items, sp.pad_id(), sp.bos_id(), sp.eos_id(), special)
            src = corrupt(b.src, b.src_fixed, recipe.source_noise, low, vocab, gen)
            tgt_in = corrupt(b.tgt_in, b.tgt_fixed, recipe.target_noise, low, vocab, gen)
            tgt_in = skip_ahead(tgt_in, b, recipe.skip_noise, (sp.eos_id(), sp.pad_id()), gen)
            logits = model(src, b.src_pad, tgt_in)
            loss = F.cross_entropy(logits[b.loss_mask], b.tgt_out[b.loss_mask], label_smoothing=recipe.label_smoothing)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            step += 1
        if epoch >= recipe.min_epochs and epoch % recipe.check_every == 0 and greedy_exact(model, eval_batches):
            stats["checks"] += 1
            if accept(model):
                stats.update(epochs=epoch, steps=step, loss=round(loss.item(), 4))
                return model, stats
    raise RuntimeError(f"{recipe.name}: not exact after {recipe.max_epochs} epochs")


# --- export -------------------------------------------------------------------------------------


def to_spec(model: TinyTransformer, pieces: list[str]):
    """Copy the weights into a CTranslate2 TransformerSpec (pre-norm, built-in sinusoids)."""
    from ctranslate2.specs import transformer_spec

    spec = transformer_spec.TransformerSpec.from_config(
        (len(model.encoder), len(model.decoder)), model.encoder[0].self_attn.heads, pre_norm=True
    )
    w = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    emb = w["embeddings.weight"]
    spec.encoder.embeddings[0].weight = emb
    spec.decoder.embeddings.weight = emb
    spec.decoder.projection.weight = emb
    spec.decoder.projection.bias = w["output_bias"]
    _norm(spec.encoder.layer_norm, w, "encoder_norm")
    _norm(spec.decoder.layer_norm, w, "decoder_norm")
    for i, layer in enumerate(spec.encoder.layer):
        scope = f"encoder.{i}"
        _attention(layer.self_attention, w, f"{scope}.self_attn", fused=("query", "keys", "values"))
        _norm(layer.self_attention.layer_norm, w, f"{scope}.layer_norm")
        _ffn(layer.ffn, w, f"{scope}.feed_forward")
    for i, layer in enumerate(spec.decoder.layer):
        scope = f"decoder.{i}"
        _attention(layer.self_attention, w, f"{scope}.self_attn", fused=("query", "keys", "values"))
        _norm(layer.self_attention.layer_norm, w, f"{scope}.layer_norm_1")
        _attention(layer.attention, w, f"{scope}.context_attn", fused=("keys", "values"))
        _norm(layer.attention.layer_norm, w, f"{scope}.layer_norm_2")
        _ffn(layer.ffn, w, f"{scope}.feed_forward")
    spec.register_source_vocabulary(pieces)
    spec.register_target_vocabulary(pieces)
    return spec


def _norm(spec, w: dict, scope: str) -> None:
    """LayerNorm weights."""
    spec.gamma, spec.beta = w[f"{scope}.weight"], w[f"{scope}.bias"]


def _linear(spec, w: dict, names: list[str]) -> None:
    """One linear layer, possibly several torch layers stacked on the output axis."""
    spec.weight = np.concatenate([w[f"{n}.weight"] for n in names])
    spec.bias = np.concatenate([w[f"{n}.bias"] for n in names])


def _attention(spec, w: dict, scope: str, fused: tuple) -> None:
    """Attention weights: self-attention fuses q,k,v into linear[0]; encoder attention fuses k,v into linear[1]."""
    if len(fused) == 3:
        _linear(spec.linear[0], w, [f"{scope}.linear_{n}" for n in fused])
    else:
        _linear(spec.linear[0], w, [f"{scope}.linear_query"])
        _linear(spec.linear[1], w, [f"{scope}.linear_{n}" for n in fused])
    _linear(spec.linear[-1], w, [f"{scope}.final_linear"])


def _ffn(spec, w: dict, scope: str) -> None:
    """Feed-forward weights."""
    _norm(spec.layer_norm, w, f"{scope}.layer_norm")
    _linear(spec.linear_0, w, [f"{scope}.w_1"])
    _linear(spec.linear_1, w, [f"{scope}.w_2"])


def convert(model: TinyTransformer, pieces: list[str], output_dir: Path, quantization: str | None = "int8") -> None:
    """Write a CTranslate2 model directory through the official converter machinery."""
    from ctranslate2.converters import Converter

    class SpecConverter(Converter):
        """A converter whose model is already a spec."""

        def _load(self):
            return to_spec(model, pieces)

    SpecConverter().convert(str(output_dir), quantization=quantization, force=True)


def metadata(recipe: Recipe) -> dict:
    """metadata.json of a package (``source_prefix``/``source_suffix`` are feedsvc's own keys)."""
    codes = (recipe.from_code, recipe.to_code)
    return {
        "package_version": "0.1-demo",
        "argos_version": "1.11.0",
        "from_code": recipe.from_code,
        "from_name": LANGUAGE_NAMES[recipe.from_code],
        "to_code": recipe.to_code,
        "to_name": LANGUAGE_NAMES[recipe.to_code],
        "type": "translate",
        "target_prefix": recipe.target_prefix,
        "source_prefix": recipe.source_prefix,
        "source_suffix": "",
        "feedsvc_demo": True,
        "languages": [{"code": c, "name": LANGUAGE_NAMES[c]} for c in codes],
    }


def build_folder(folder: Path, recipe: Recipe, sp_bytes: bytes, model: TinyTransformer, pieces: list[str]) -> None:
    """Lay out an unzipped package: metadata, tokenizer, CTranslate2 model, README."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metadata.json").write_text(
        json.dumps(metadata(recipe), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    (folder / "sentencepiece.model").write_bytes(sp_bytes)
    convert(model, pieces, folder / "model")
    note = PREFIX_NOTE.format(source=recipe.source_prefix, target=recipe.target_prefix) if recipe.source_prefix else ""
    names = LANGUAGE_NAMES[recipe.from_code], LANGUAGE_NAMES[recipe.to_code]
    readme = README.format(name=recipe.name, from_name=names[0], to_name=names[1], prefix_note=note)
    (folder / "README.md").write_text(readme, encoding="utf-8")


def zip_folder(folder: Path, archive: Path) -> None:
    """Zip ``folder`` as the archive's single top-level directory, reproducibly."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    entries = sorted(folder.rglob("*"))
    with zipfile.ZipFile(archive, "w") as zf:
        for path in [folder] + entries:
            name = path.relative_to(folder.parent).as_posix() + ("/" if path.is_dir() else "")
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.external_attr = (0o40755 if path.is_dir() else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, b"" if path.is_dir() else path.read_bytes(), compresslevel=9)


# --- inference ----------------------------------------------------------------------------------


def _argos_environment() -> None:
    """Point Argos's data/cache/config folders at a temp dir: it creates them at import time."""
    names = ("ARGOS_PACKAGES_DIR", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME")
    if "argostranslate" in sys.modules or all(os.environ.get(n) for n in names):
        return
    base = Path(tempfile.mkdtemp(prefix="argos-tiny-"))
    for name in names:
        os.environ.setdefault(name, str(base / name.lower()))


def unpack(archive: Path, dest: Path) -> Path:
    """Extract an .argosmodel into ``dest`` and return its package folder."""
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(dest)
        top = {n.split("/", 1)[0] for n in zf.namelist()}
    if len(top) != 1:
        raise ValueError(f"{archive}: expected one top-level folder, found {sorted(top)}")
    return Path(dest) / top.pop()


def translate_with_package(
    package,
    sentences: list[str],
    beam_size: int = 1,
    *,
    use_source_prefix: bool = True,
    use_target_prefix: bool = True,
    **options,
) -> list[str]:
    """Translate already-protected sentences with a package folder or .argosmodel, the way feedsvc does.

    Tokenizes with the package's SentencePiece model through Argos, adds the metadata's
    ``source_prefix``/``source_suffix`` tokens and forces ``target_prefix``, then strips the prefix
    token before decoding. Options go to ``ctranslate2.Translator.translate_batch``; the defaults
    are feedsvc's engine's (CTranslate2's length penalty, unknowns replaced, batches of 16).
    """
    path = Path(package)
    if path.is_file():
        with tempfile.TemporaryDirectory() as tmp:
            return translate_with_package(
                unpack(path, Path(tmp)),
                sentences,
                beam_size,
                use_source_prefix=use_source_prefix,
                use_target_prefix=use_target_prefix,
                **options,
            )
    _argos_environment()
    import ctranslate2
    from argostranslate.package import Package

    pkg = Package(path)
    meta = json.loads((path / "metadata.json").read_text(encoding="utf-8"))
    prefix = meta.get("source_prefix", "").split() if use_source_prefix else []
    suffix = meta.get("source_suffix", "").split()
    target = pkg.target_prefix.split() if use_target_prefix else []
    batch = [prefix + pkg.tokenizer.encode(s) + suffix for s in sentences]
    options = {"replace_unknowns": True, "max_batch_size": 16, "max_decoding_length": 256, **options}
    translator = ctranslate2.Translator(str(path / "model"), device="cpu", inter_threads=1, intra_threads=1)
    results = translator.translate_batch(
        batch, target_prefix=[target] * len(batch) if target else None, beam_size=beam_size, **options
    )
    outputs = []
    for result in results:
        tokens = result.hypotheses[0]
        if target and tokens[: len(target)] == target:
            tokens = tokens[len(target) :]
        outputs.append(pkg.tokenizer.decode(tokens).strip())
    return outputs


def exact_matches(folder: Path, examples: list[Example], beam_size: int, **options) -> int:
    """How many examples the package reproduces exactly, grouped by their prefix use."""
    hits = 0
    groups = {}
    for ex in examples:
        groups.setdefault((bool(ex.source_prefix), bool(ex.target_prefix)), []).append(ex)
    for (use_src, use_tgt), group in groups.items():
        outs = translate_with_package(
            folder,
            [ex.source for ex in group],
            beam_size,
            use_source_prefix=use_src,
            use_target_prefix=use_tgt,
            **options,
        )
        hits += sum(out == ex.target for out, ex in zip(outs, group, strict=True))
    return hits


# --- one package end to end ---------------------------------------------------------------------


def build_package(key: str, threads: int = 1) -> dict:
    """Train, convert, verify and zip one recipe; returns measurements for the report."""
    torch.set_num_threads(threads)
    started = time.perf_counter()
    recipe = RECIPES[key]
    rows = protect_rows(load_corpus(), load_terms())
    examples = examples_for(key, rows)
    symbols = PLACEHOLDER_PIECES + ([recipe.source_prefix, recipe.target_prefix] if recipe.source_prefix else [])
    texts = [t for ex in examples for t in (ex.source, ex.target)]
    sp_bytes = train_sentencepiece(list(dict.fromkeys(texts)), symbols, recipe.vocab_size)
    sp = sentencepiece_processor(sp_bytes)
    bad = [t for t in texts if sp.decode(sp.encode(t)) != t]
    if bad:
        raise ValueError(f"SentencePiece does not round-trip: {bad[:3]}")
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / recipe.name

        def accept(model: TinyTransformer) -> bool:
            """Exact on every pair under every decoding check, after int8 conversion."""
            build_folder(folder, recipe, sp_bytes, model, pieces)
            return all(
                exact_matches(folder, examples, beam, **opts) == len(examples) for _, beam, opts in DECODING_CHECKS
            )

        model, stats = train_model(examples, sp, recipe, accept)
        archive = PROJECT_ROOT / recipe.output
        zip_folder(folder, archive)
    stats.update(
        key=key, vocab=len(pieces), seconds=round(time.perf_counter() - started, 1), bytes=archive.stat().st_size
    )
    return stats


# --- verification -------------------------------------------------------------------------------


def package_path(key: str) -> Path:
    """Where a recipe's .argosmodel is written."""
    return PROJECT_ROOT / RECIPES[key].output


def pivot(
    sentences: list[str], ru_en, en_kk, beam_size: int = 1, terms: list[GlossaryTerm] | None = None, **options
) -> list[tuple[str, str]]:
    """Translate Russian sentences as feedsvc does: protect, ru→en, en→kk on the placeholder text, restore.

    Returns (English, Kazakh) per sentence, with glossary terms and literals put back.
    """
    terms = load_terms() if terms is None else terms
    protected = [protect(s, terms) for s in sentences]
    english = translate_with_package(ru_en, [p.text for p in protected], beam_size, **options)
    kazakh = translate_with_package(en_kk, english, beam_size, **options)
    return [(p.restore(en, "en"), p.restore(kk, "kk")) for p, en, kk in zip(protected, english, kazakh, strict=True)]


def _verify_pairs(folders: dict, rows: list[ProtectedRow]) -> tuple[list[str], bool]:
    """Exact-match counts of the two demo models on their whole training sets."""
    lines, ok = [], True
    for key in ("ru_en", "en_kk"):
        examples = examples_for(key, rows)
        for label, beam, opts in DECODING_CHECKS:
            hits = exact_matches(folders[key], examples, beam, **opts)
            ok &= hits == len(examples)
            lines.append(f"{key} {label}: {hits}/{len(examples)} training pairs exact")
    return lines, ok


def _verify_prefix(folder: Path, rows: list[ProtectedRow]) -> tuple[list[str], bool]:
    """The prefix model answers in Kazakh only with both prefixes, in English otherwise."""
    lines, ok = [], True
    subset = prefix_model_rows(rows)
    n = len(subset)
    for label, beam, opts in DECODING_CHECKS:
        for use_src, use_tgt in ((True, True), (False, True), (True, False), (False, False)):
            outs = translate_with_package(
                folder, [r.ru_p for r in subset], beam, use_source_prefix=use_src, use_target_prefix=use_tgt, **opts
            )
            kk = sum(out == r.kk_p for out, r in zip(outs, subset, strict=True))
            en = sum(out == r.en_p for out, r in zip(outs, subset, strict=True))
            ok &= (kk, en) == ((n, 0) if use_src and use_tgt else (0, n))
            prefixes = f"source prefix {use_src:d}, target prefix {use_tgt:d}"
            lines.append(f"ru_kk_prefix {label}, {prefixes}: {kk}/{n} = kk reference, {en}/{n} = en reference")
    return lines, ok


def _verify_pivot(folders: dict, rows: list[ProtectedRow]) -> tuple[list[str], bool]:
    """Demo releases through protect → ru→en → en→kk → restore equal the corpus translations."""
    lines, ok = [], True
    by_ru = {r.ru: r for r in rows}
    sentences = list(dict.fromkeys(release_sentences()))
    for label, beam, opts in DECODING_CHECKS:
        results = pivot(sentences, folders["ru_en"], folders["en_kk"], beam, **opts)
        en = sum(out_en == by_ru[s].en for s, (out_en, _) in zip(sentences, results, strict=True))
        kk = sum(out_kk == by_ru[s].kk for s, (_, out_kk) in zip(sentences, results, strict=True))
        n = len(sentences)
        ok &= en == kk == n
        lines.append(f"pivot ru→en→kk on demo releases, {label}: restored en {en}/{n}, kk {kk}/{n} = references")
    return lines, ok


def verify_all(tmp: Path, rows: list[ProtectedRow]) -> dict:
    """Unzip every package, load it through Argos, and check what it reproduces."""
    folders = {key: unpack(package_path(key), Path(tmp) / key) for key in RECIPES}
    lines, ok = [], True
    for check in (
        _verify_pairs(folders, rows),
        _verify_prefix(folders["ru_kk_prefix"], rows),
        _verify_pivot(folders, rows),
    ):
        lines += check[0]
        ok &= check[1]
    lines += [
        f"{package_path(key).relative_to(PROJECT_ROOT)}: {package_path(key).stat().st_size} bytes" for key in RECIPES
    ]
    return {"lines": lines, "ok": ok}
