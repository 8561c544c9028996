"""Tiny Hugging Face checkpoints of every architecture `feedsvc models convert` supports, built for the tests.

Each is laid out as its public counterpart is on the Hub (file names, tokenizer files, config.json keys):
Marian/OPUS-MT (`source.spm`, `target.spm`, `vocab.json`, multi-target `>>xxx<<` tokens), NLLB-200
(`sentencepiece.bpe.model` + tokenizer files holding the language codes), M2M-100 (`sentencepiece.bpe.model` +
`vocab.json`, `__xx__` codes) and MADLAD-400/T5 (`spiece.model`, `<2xx>` pieces). Each model is a few tens of KB
(d_model 32, one layer each side), trained with a fixed seed until greedy `generate()` reproduces every pair, so a
conversion that changes any token shows. Built once per test session (about 20 s for all four).
"""

import csv
import json
import os
import shutil
from pathlib import Path

import sentencepiece as spm
import torch

CORPUS = Path(__file__).resolve().parent.parent / "feedsvc" / "demo" / "corpus.tsv"
PAIRS = 20
SEED = 7
MAX_STEPS = 800
# Steps trained on after generate() first reproduces every pair: a margin, so int8 weights keep the same argmax.
MARGIN_STEPS = 150


def corpus_rows(count: int = PAIRS) -> list[dict]:
    """Short rows of the demo corpus (ru, en, kk), so tiny models learn them fast."""
    with open(CORPUS, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [row for row in rows if len(row["ru"]) < 60][:count]


def train_spm(texts: list[str], prefix: Path, vocab_size: int, model_type: str = "unigram", **options) -> Path:
    """A SentencePiece model trained on ``texts`` (deterministic: one thread, fixed input)."""
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts), model_prefix=str(prefix), vocab_size=vocab_size, model_type=model_type,
        character_coverage=1.0, hard_vocab_limit=False, num_threads=1, minloglevel=2, **options)
    Path(f"{prefix}.vocab").unlink()
    return Path(f"{prefix}.model")


def pieces(model: Path) -> list[str]:
    """The ordinary pieces of a SentencePiece model (no control or unknown pieces)."""
    sp = spm.SentencePieceProcessor(model_file=str(model))
    return [sp.id_to_piece(i) for i in range(sp.get_piece_size()) if not (sp.is_control(i) or sp.is_unknown(i))]


def small(config_class, **options):
    """A tiny configuration: one layer each side, d_model 32."""
    return config_class(d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                        decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=128,
                        dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, **options)


def fit(model, examples: list[tuple[list[int], list[int]]], pad_id: int, generate_options: dict,
        zero_row: int | None = None) -> int:
    """Train on (input ids, label ids) pairs until greedy generate() reproduces all of them; returns the steps.

    ``zero_row``: an embedding row kept at zero (Marian's <pad>, where transformers starts the decoder).
    """
    torch.manual_seed(SEED)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    inputs = pad([source for source, _ in examples], pad_id)
    mask = (inputs != pad_id).long() if pad_id is not None else torch.ones_like(inputs)
    labels = pad([target for _, target in examples], -100)
    learned = None
    for step in range(1, MAX_STEPS + 1):
        model.train()
        loss = model(input_ids=inputs, attention_mask=mask, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if zero_row is not None:
            with torch.no_grad():
                model.get_input_embeddings().weight[zero_row].zero_()
        if learned is None and step % 50 == 0 and reproduces(model, inputs, mask, examples, generate_options):
            learned = step
            for group in optimizer.param_groups:
                group["lr"] = 2e-3  # settle rather than oscillate
        if learned is not None and step == learned + MARGIN_STEPS:
            if reproduces(model, inputs, mask, examples, generate_options):
                return step
            learned = None
    raise AssertionError(f"{type(model).__name__} did not learn its {len(examples)} pairs in {MAX_STEPS} steps")


def pad(sequences: list[list[int]], value: int) -> torch.Tensor:
    """Right-padded rows as one tensor."""
    width = max(len(s) for s in sequences)
    return torch.tensor([s + [value] * (width - len(s)) for s in sequences])


def reproduces(model, inputs, mask, examples, generate_options: dict) -> bool:
    """Whether greedy generate() gives every label sequence (special tokens aside)."""
    model.eval()
    with torch.no_grad():
        out = model.generate(input_ids=inputs, attention_mask=mask, num_beams=1, do_sample=False, max_new_tokens=60,
                             **generate_options)
    special = {model.config.pad_token_id, model.config.eos_token_id, model.config.decoder_start_token_id}
    for row, (_, target) in zip(out.tolist(), examples, strict=True):
        if [t for t in row if t not in special] != [t for t in target if t not in special]:
            return False
    return True


def save(model, tokenizer_files: Path, out: Path) -> Path:
    """Write the checkpoint folder: the model (safetensors) beside its tokenizer files."""
    model.save_pretrained(out)
    for file in tokenizer_files.iterdir():
        if file.is_file() and not (out / file.name).exists():
            shutil.copy(file, out / file.name)
    return out


def build_marian(out: Path) -> Path:
    """OPUS-MT style ru→{kk, en} multi-target Marian model: `>>kaz_Cyrl<<` / `>>eng<<` pick the target."""
    from transformers import MarianConfig
    from transformers import MarianMTModel
    from transformers import MarianTokenizer

    rows, work = corpus_rows(), out.with_name(out.name + "-tok")
    work.mkdir(parents=True)
    shutil.move(train_spm([r["ru"] for r in rows], work / "src", 200), work / "source.spm")
    shutil.move(train_spm([r["kk"] for r in rows] + [r["en"] for r in rows], work / "tgt", 300), work / "target.spm")
    targets = {"kk": ">>kaz_Cyrl<<", "en": ">>eng<<"}
    vocab = ["</s>", "<unk>", *targets.values()]
    vocab += [p for p in dict.fromkeys(pieces(work / "source.spm") + pieces(work / "target.spm")) if p not in vocab]
    vocab.append("<pad>")  # last, as in every OPUS-MT vocab.json
    (work / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}, ensure_ascii=False))
    (work / "tokenizer_config.json").write_text(json.dumps({"source_lang": "ru", "target_lang": "mul",
                                                            "separate_vocabs": False, "model_max_length": 512}))
    tokenizer = MarianTokenizer.from_pretrained(work)
    pad_id = len(vocab) - 1
    torch.manual_seed(SEED)
    model = MarianMTModel(small(MarianConfig, vocab_size=len(vocab), pad_token_id=pad_id, eos_token_id=0,
                                decoder_start_token_id=pad_id, scale_embedding=True,
                                share_encoder_decoder_embeddings=True))
    examples = [(tokenizer(f"{token} {r['ru']}").input_ids, tokenizer(text_target=r[lang]).input_ids)
                for r in rows for lang, token in targets.items()]
    # CTranslate2 starts Marian's decoder from a zero vector, transformers from the <pad> row: keep that row zero.
    fit(model, examples, pad_id, {"bad_words_ids": [[pad_id]]}, zero_row=pad_id)
    model.generation_config.bad_words_ids = [[pad_id]]
    return save(model, work, out)


def build_nllb(out: Path) -> Path:
    """NLLB-200 style ru→kk model: `rus_Cyrl` … `</s>` in, `kaz_Cyrl` forced first out."""
    from transformers import M2M100Config
    from transformers import M2M100ForConditionalGeneration
    from transformers import NllbTokenizer

    rows, work = corpus_rows(), out.with_name(out.name + "-tok")
    work.mkdir(parents=True)
    spm_file = train_spm([r["ru"] for r in rows] + [r["kk"] for r in rows], work / "sentencepiece.bpe", 300, "bpe")
    # transformers 5 builds NllbTokenizer without language codes unless the saved tokenizer files list them.
    tokenizer = NllbTokenizer.from_pretrained(work, additional_special_tokens=["rus_Cyrl", "kaz_Cyrl", "eng_Latn"],
                                              src_lang="rus_Cyrl", tgt_lang="kaz_Cyrl")
    tokenizer.save_pretrained(work)
    assert spm_file.is_file()
    kaz = tokenizer.convert_tokens_to_ids("kaz_Cyrl")
    torch.manual_seed(SEED)
    model = M2M100ForConditionalGeneration(small(
        M2M100Config, vocab_size=len(tokenizer), pad_token_id=1, bos_token_id=0, eos_token_id=2,
        decoder_start_token_id=2, scale_embedding=True, tokenizer_class="NllbTokenizer"))
    examples = [(tokenizer(r["ru"]).input_ids, tokenizer(text_target=r["kk"]).input_ids) for r in rows]
    fit(model, examples, 1, {"forced_bos_token_id": kaz})
    return save(model, work, out)


def build_m2m100(out: Path) -> Path:
    """M2M-100 style ru→kk model: `__ru__` … `</s>` in, `__kk__` forced first out."""
    from transformers import M2M100Config
    from transformers import M2M100ForConditionalGeneration
    from transformers import M2M100Tokenizer

    rows, work = corpus_rows(), out.with_name(out.name + "-tok")
    work.mkdir(parents=True)
    spm_file = train_spm([r["ru"] for r in rows] + [r["kk"] for r in rows], work / "sentencepiece.bpe", 300, "bpe")
    sp = spm.SentencePieceProcessor(model_file=str(spm_file))
    vocab = ["<s>", "<pad>", "</s>", "<unk>"] + [sp.id_to_piece(i) for i in range(3, sp.get_piece_size())]
    (work / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}, ensure_ascii=False))
    tokenizer = M2M100Tokenizer(vocab_file=str(work / "vocab.json"), spm_file=str(spm_file), src_lang="ru",
                                tgt_lang="kk")
    tokenizer.save_pretrained(work)
    # The Hub's m2m100 tokenizer_config.json lists the language codes (CTranslate2 adds them to the vocabulary).
    config = json.loads((work / "tokenizer_config.json").read_text())
    config["additional_special_tokens"] = list(tokenizer.lang_token_to_id)
    (work / "tokenizer_config.json").write_text(json.dumps(config, ensure_ascii=False))
    size = len(vocab) + len(tokenizer.lang_token_to_id) + tokenizer.num_madeup_words
    torch.manual_seed(SEED)
    model = M2M100ForConditionalGeneration(small(M2M100Config, vocab_size=size, pad_token_id=1, bos_token_id=0,
                                                 eos_token_id=2, decoder_start_token_id=2, scale_embedding=True))
    examples = [(tokenizer(r["ru"]).input_ids, tokenizer(text_target=r["kk"]).input_ids) for r in rows]
    fit(model, examples, 1, {"forced_bos_token_id": tokenizer.get_lang_id("kk")})
    return save(model, work, out)


def build_t5(out: Path) -> Path:
    """MADLAD-400 style (T5) ru→kk model: `<2kk>` … `</s>` in, no forced target token."""
    from transformers import T5Config
    from transformers import T5ForConditionalGeneration
    from transformers import T5Tokenizer

    rows, work = corpus_rows(), out.with_name(out.name + "-tok")
    work.mkdir(parents=True)
    train_spm([r["ru"] for r in rows] + [r["kk"] for r in rows], work / "spiece", 300, pad_id=0, eos_id=1, unk_id=2,
              bos_id=-1, user_defined_symbols=["<2kk>", "<2en>"])
    tokenizer = T5Tokenizer.from_pretrained(work, extra_ids=0)
    tokenizer.save_pretrained(work)
    torch.manual_seed(SEED)
    model = T5ForConditionalGeneration(T5Config(
        vocab_size=len(tokenizer), d_model=32, d_kv=16, d_ff=64, num_layers=1, num_decoder_layers=1, num_heads=2,
        dropout_rate=0.0, feed_forward_proj="gated-gelu", tie_word_embeddings=False, pad_token_id=0,
        eos_token_id=1, decoder_start_token_id=0))
    examples = [(tokenizer(f"<2kk> {r['ru']}").input_ids, tokenizer(text_target=r["kk"]).input_ids) for r in rows]
    fit(model, examples, 0, {})
    return save(model, work, out)


BUILDERS = {"marian": build_marian, "nllb": build_nllb, "m2m100": build_m2m100, "t5": build_t5}


def build(kind: str, root: Path) -> Path:
    """Build one tiny checkpoint under ``root``; offline, seeded, one thread."""
    os.environ["HF_HUB_OFFLINE"] = os.environ["TRANSFORMERS_OFFLINE"] = "1"
    torch.set_num_threads(1)
    return BUILDERS[kind](root / kind)
