"""The SentencePiece -> tokenizer.json conversion, checked against the ``sentencepiece`` library itself.

Each model is trained here on a few dozen generated sentences: one with InternLM2's settings (BPE, byte fallback,
no dummy prefix, spaces kept, identity normalization, the chat markers as user-defined pieces right after
``<unk>``/``<s>``/``</s>``), one with Llama's (dummy prefix, NFKC, extra spaces removed) and one unigram model.
The side files follow the published GeoPixel layout: ``added_tokens.json`` with [SEG], <p>, </p> after the
SentencePiece vocabulary, ``tokenizer_config.json`` naming the remote tokenizer class, ``special_tokens_map.json``.
"""

from __future__ import annotations

import json
import random
import sys

import pytest

sentencepiece = pytest.importorskip("sentencepiece")

from transformers import AutoTokenizer, PreTrainedTokenizerFast  # noqa: E402

from engine.convert import ConversionError  # noqa: E402
from engine.convert.tokenizer import convert_sentencepiece_tokenizer  # noqa: E402
from engine.model.geoground.internlm2 import encode as internlm2_encode  # noqa: E402
from engine.model.geoground.internlm2 import render as internlm2_render  # noqa: E402
from engine.types import Turn  # noqa: E402

MARKERS = ["[UNUSED_TOKEN_145]", "[UNUSED_TOKEN_146]"]  # InternLM2's end-of-turn and start-of-turn markers
WORDS = (
    "the harbour has ships storage tanks near roads buildings a of in large small white red segment all every "
    "outline river bridge field farm airport runway plane car 2024 42 7 港口 有 船 Straße über naïve café"
).split()
TEXTS = [
    "the harbour has 42 ships",
    " leading space",
    "two  spaces and   three",
    "trailing space ",
    "digits 0123456789 and 3.14159",
    "line one\nline two\n\nend",
    "tab\tseparated\tvalues",
    "港口有船，航拍图像",
    "Ärger über Straßen in Zürich",
    "emoji 🚢🛢️ tanks 🛰",
    "mixed ÄÖÜ 123 🚀\n end",
    "unseen letters: qxzjk QXZJK",
    "",
]
GEOPIXEL_ADDED = ["[SEG]", "<p>", "</p>"]


def _corpus(path) -> None:
    rng = random.Random(0)
    lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))) for _ in range(60)]
    lines += ["Storage Tanks.", "Segment every ship, plane and car!", "(1) field; (2) farm: done?"]
    path.write_text("\n".join(lines), encoding="utf-8")


def _train(folder, model_type: str, **options) -> None:
    """A tiny SentencePiece model at ``folder/tokenizer.model``."""
    folder.mkdir(parents=True)
    _corpus(folder / "corpus.txt")
    sentencepiece.SentencePieceTrainer.train(
        input=str(folder / "corpus.txt"),
        model_prefix=str(folder / "tokenizer"),
        model_type=model_type,
        vocab_size=360,
        hard_vocab_limit=False,
        byte_fallback=True,
        character_coverage=1.0,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        user_defined_symbols=MARKERS,
        minloglevel=2,
        **options,
    )
    (folder / "corpus.txt").unlink()
    (folder / "tokenizer.vocab").unlink()


def _write_published_side_files(folder, size: int) -> dict[str, int]:
    added = {token: size + i for i, token in enumerate(GEOPIXEL_ADDED)}
    (folder / "added_tokens.json").write_text(json.dumps(added))
    config = {
        "auto_map": {"AutoTokenizer": ["tokenization_internlm2.InternLM2Tokenizer", None]},
        "tokenizer_class": "InternLM2Tokenizer",
        "add_bos_token": True,
        "add_eos_token": False,
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "pad_token": "<unk>",
        "clean_up_tokenization_spaces": False,
        "decode_with_prefix_space": False,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    roles = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<unk>"}
    (folder / "special_tokens_map.json").write_text(json.dumps(roles))
    return added


INTERNLM2_OPTIONS = {
    "add_dummy_prefix": False,
    "remove_extra_whitespaces": False,
    "normalization_rule_name": "identity",
}
KINDS = {
    "internlm2": ("bpe", INTERNLM2_OPTIONS),
    "llama": ("bpe", {}),  # SentencePiece defaults: dummy prefix, NFKC, extra spaces removed
    "unigram": ("unigram", INTERNLM2_OPTIONS),
}


@pytest.fixture(scope="module")
def tokenizers(tmp_path_factory):
    """kind -> (SentencePieceProcessor, converted tokenizer, added-token ids, converted folder)."""
    built = {}
    for kind, (model_type, options) in KINDS.items():
        source = tmp_path_factory.mktemp(kind) / "source"
        _train(source, model_type, **options)
        processor = sentencepiece.SentencePieceProcessor(model_file=str(source / "tokenizer.model"))
        added = _write_published_side_files(source, processor.get_piece_size())
        output = source.parent / "converted"
        written = convert_sentencepiece_tokenizer(source, output)
        assert written == output / "tokenizer.json"
        built[kind] = (processor, PreTrainedTokenizerFast.from_pretrained(output), added, output)
    return built


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_ordinary_text_gets_the_sentencepiece_ids(tokenizers, kind):
    processor, tokenizer, _, _ = tokenizers[kind]
    for text in TEXTS:
        assert tokenizer(text, add_special_tokens=False)["input_ids"] == processor.encode(text), repr(text)


def test_byte_fallback_is_used_for_unseen_characters(tokenizers):
    processor, tokenizer, _, _ = tokenizers["internlm2"]
    tokens = tokenizer.tokenize("🚢")
    assert tokens == ["<0xF0>", "<0x9F>", "<0x9A>", "<0xA2>"]  # the UTF-8 bytes of U+1F6A2
    assert tokenizer.convert_tokens_to_ids(tokens) == processor.encode("🚢")
    assert tokenizer.unk_token_id not in tokenizer("qxzjk 🛰 Ω")["input_ids"]


def test_added_tokens_keep_their_published_ids_and_are_never_split(tokenizers):
    processor, tokenizer, added, _ = tokenizers["internlm2"]
    assert len(tokenizer) == processor.get_piece_size() + len(added)
    for token, index in added.items():
        assert tokenizer.convert_tokens_to_ids(token) == index
        assert tokenizer(f"a{token}b", add_special_tokens=False)["input_ids"] == [
            *processor.encode("a"),
            index,
            *processor.encode("b"),
        ]
    for marker in MARKERS:
        assert tokenizer(marker, add_special_tokens=False)["input_ids"] == [processor.piece_to_id(marker)]
    text = "<p>two storage tanks</p>[SEG] near <p>the river</p>[SEG]"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert ids.count(added["[SEG]"]) == 2 and ids.count(added["<p>"]) == 2
    expected = []  # what the original tokenizer does: SentencePiece on each stretch between added tokens
    for part in text.replace("<p>", "\0<p>\0").replace("</p>", "\0</p>\0").replace("[SEG]", "\0[SEG]\0").split("\0"):
        expected += [added[part]] if part in added else processor.encode(part)
    assert ids == expected


def test_marker_text_gets_the_sentencepiece_ids(tokenizers):
    """InternLM2 adds no dummy prefix, so splitting at the markers changes nothing: SentencePiece on the whole
    string (which matches its user-defined pieces itself) gives the same ids."""
    processor, tokenizer, _, _ = tokenizers["internlm2"]
    for text in ("[UNUSED_TOKEN_146]user\nhi[UNUSED_TOKEN_145]\n", "a [UNUSED_TOKEN_145] b", " [UNUSED_TOKEN_146]x "):
        assert tokenizer(text, add_special_tokens=False)["input_ids"] == processor.encode(text), repr(text)


@pytest.mark.parametrize("kind", ["internlm2", "unigram"])
def test_decoding_gives_back_the_text(tokenizers, kind):
    processor, tokenizer, _, _ = tokenizers[kind]
    extra = ["<p>a ship</p>[SEG] and  [UNUSED_TOKEN_145]\n", " 🚢 港口\t"]
    for text in TEXTS + extra:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert tokenizer.decode(ids) == text
    for text in TEXTS:
        assert tokenizer.decode(processor.encode(text)) == processor.decode(processor.encode(text))


def test_bos_is_added_and_special_tokens_have_the_sentencepiece_ids(tokenizers):
    processor, tokenizer, _, _ = tokenizers["internlm2"]
    assert (tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id) == (1, 2, 0)
    assert tokenizer.pad_token_id == 0  # the published map pads with <unk>
    assert tokenizer("the harbour")["input_ids"] == [1, *processor.encode("the harbour")]
    assert tokenizer.decode([1, *processor.encode("ships"), 2], skip_special_tokens=True) == "ships"


def test_chat_template_renders_and_encodes(tokenizers):
    processor, tokenizer, added, _ = tokenizers["internlm2"]
    turns = [
        Turn("user", "segment all storage tanks"),
        Turn("assistant", "<p>two tanks</p>[SEG] near the harbour"),
        Turn("user", "and the ships?"),
    ]
    text = internlm2_render(turns)
    assert text.startswith("[UNUSED_TOKEN_146]user\nsegment all storage tanks[UNUSED_TOKEN_145]\n")
    assert text.endswith("[UNUSED_TOKEN_146]assistant\n")
    ids, labels = internlm2_encode(tokenizer, turns)
    start, end = processor.piece_to_id("[UNUSED_TOKEN_146]"), processor.piece_to_id("[UNUSED_TOKEN_145]")
    assert ids.count(start) == 4 and ids.count(end) == 3 and ids.count(added["[SEG]"]) == 1
    plain = text.replace("<p>", "").replace("</p>", "").replace("[SEG]", "")
    without_added = [i for i in ids if i not in added.values()]
    assert without_added == tokenizer(plain, add_special_tokens=False)["input_ids"]
    learned = [i for i, label in zip(ids, labels) if label != -100]
    assert tokenizer.decode(learned) == "<p>two tanks</p>[SEG] near the harbour[UNUSED_TOKEN_145]"


def test_written_folder_names_no_remote_code(tokenizers):
    _, _, _, output = tokenizers["internlm2"]
    config = json.loads((output / "tokenizer_config.json").read_text())
    assert "auto_map" not in config and "InternLM2" not in json.dumps(config)
    roles = json.loads((output / "special_tokens_map.json").read_text())
    assert roles == {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<unk>"}
    loaded = AutoTokenizer.from_pretrained(output, trust_remote_code=False)
    assert loaded.convert_tokens_to_ids("[SEG]") == tokenizers["internlm2"][2]["[SEG]"]


def test_written_folder_loads_without_sentencepiece(tokenizers, monkeypatch):
    processor, _, _, output = tokenizers["internlm2"]
    monkeypatch.setitem(sys.modules, "sentencepiece", None)  # any import of it now fails
    tokenizer = PreTrainedTokenizerFast.from_pretrained(output)
    assert tokenizer("港口 🚢", add_special_tokens=False)["input_ids"] == processor.encode("港口 🚢")


def test_renamed_piece_from_tokenizer_config(tmp_path, tokenizers):
    """Chat variants rename a reserved piece in ``added_tokens_decoder``; the new text must get that id."""
    processor, _, _, _ = tokenizers["internlm2"]
    source = tmp_path / "source"
    _train(source, "bpe", **INTERNLM2_OPTIONS)
    index = processor.piece_to_id("[UNUSED_TOKEN_146]")
    entry = {"content": "<|im_start|>", "special": True, "lstrip": False, "rstrip": False, "normalized": False}
    (source / "tokenizer_config.json").write_text(json.dumps({"added_tokens_decoder": {str(index): entry}}))
    convert_sentencepiece_tokenizer(source, tmp_path / "out")
    tokenizer = PreTrainedTokenizerFast.from_pretrained(tmp_path / "out")
    assert tokenizer("<|im_start|>user", add_special_tokens=False)["input_ids"] == [index, *processor.encode("user")]


def test_missing_tokenizer_model_names_the_file_and_where_to_get_it(tmp_path):
    (tmp_path / "added_tokens.json").write_text(json.dumps({"[SEG]": 5}))
    with pytest.raises(ConversionError, match=r"no tokenizer\.model.*internlm-xcomposer2d5-7b"):
        convert_sentencepiece_tokenizer(tmp_path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_unreadable_tokenizer_model(tmp_path):
    (tmp_path / "tokenizer.model").write_bytes(b"version https://git-lfs.github.com/spec/v1\noid sha256:00\n")
    with pytest.raises(ConversionError, match="not a readable SentencePiece model"):
        convert_sentencepiece_tokenizer(tmp_path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("added", "message"),
    [
        ({"[SEG]": 300}, "which is the piece"),  # the id of an ordinary SentencePiece piece
        ({"[SEG]": 1}, "id 1 to both '<s>' and"),  # the id of a control piece
        ({"[SEG]": "size+1"}, "without gaps"),  # leaves a hole after the vocabulary
        ({"[UNUSED_TOKEN_146]": "size"}, "two ids"),  # a user-defined piece moved
    ],
)
def test_contradicting_added_tokens_are_refused(tmp_path, added, message):
    source = tmp_path / "source"
    _train(source, "bpe", **INTERNLM2_OPTIONS)
    size = sentencepiece.SentencePieceProcessor(model_file=str(source / "tokenizer.model")).get_piece_size()
    ids = {"size": size, "size+1": size + 1}
    (source / "added_tokens.json").write_text(json.dumps({k: ids.get(v, v) for k, v in added.items()}))
    with pytest.raises(ConversionError, match=message):
        convert_sentencepiece_tokenizer(source, tmp_path / "out")
    assert not (tmp_path / "out").exists()
