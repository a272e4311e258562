"""Turn a SentencePiece tokenizer folder (InternLM2's ``tokenizer.model`` + added-token files) into ``tokenizer.json``.

The published InternLM2 / InternLM-XComposer tokenizer class is remote code, which we never run. Its behaviour is
small enough to rebuild with the ``tokenizers`` library from the SentencePiece model itself: the same pieces and
ids, BPE merges ranked by piece score (transformers' ``generate_merges``), byte fallback, and a normalizer built from
the model's own ``normalizer_spec`` (dummy ``▁`` prefix, extra-space removal, character map: whatever it asks for).
Tokens named in ``added_tokens.json`` / ``tokenizer_config.json`` / ``special_tokens_map.json`` and the model's
user-defined and control pieces become added tokens with their published ids, so they are never split. The result
loads with ``PreTrainedTokenizerFast.from_pretrained`` without sentencepiece, protobuf or remote code.

Text between added tokens is encoded as SentencePiece encodes that stretch on its own, which is what the original
tokenizer does. Without a dummy prefix and with spaces kept, this is also what SentencePiece gives for the whole
string.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .report import ConversionError

TOKENIZER_MODEL = "tokenizer.model"
TOKENIZER_FILE = "tokenizer.json"
ADDED_TOKENS_FILE = "added_tokens.json"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
SPECIAL_TOKENS_FILE = "special_tokens_map.json"
WHERE_TO_GET = (
    "it is the InternLM2 SentencePiece model published with the checkpoint or with its base model "
    "internlm/internlm-xcomposer2d5-7b"
)
# SentencePiece piece types (sentencepiece_model.proto).
_NORMAL, _UNKNOWN, _CONTROL, _USER_DEFINED, _UNUSED, _BYTE = 1, 2, 3, 4, 5, 6
_BPE, _UNIGRAM = 2, 1
_SPACE = "\u2581"  # "▁", SentencePiece's visible space
_SPECIAL_ROLES = ("bos_token", "eos_token", "unk_token", "pad_token")


@dataclass(frozen=True)
class AddedToken:
    """A token matched in raw text before SentencePiece runs, with the id it has in the published vocabulary."""

    content: str
    id: int
    special: bool
    lstrip: bool = False
    rstrip: bool = False
    single_word: bool = False


@dataclass
class SideFiles:
    """What the JSON files next to ``tokenizer.model`` say (all optional)."""

    added: dict[str, int] = field(default_factory=dict)  # added_tokens.json
    decoder: dict[int, dict[str, Any]] = field(default_factory=dict)  # tokenizer_config.json added_tokens_decoder
    roles: dict[str, str] = field(default_factory=dict)  # bos/eos/unk/pad token contents
    additional_special: list[str] = field(default_factory=list)
    add_bos_token: bool = True  # InternLM2 starts every encoded text with <s>
    add_eos_token: bool = False


def find_tokenizer_model(folder: str | Path) -> Path:
    """``folder/tokenizer.model``, or a :class:`ConversionError` saying what is missing and where to get it."""
    path = Path(folder) / TOKENIZER_MODEL
    if not path.is_file():
        raise ConversionError(f"{Path(folder)} has no {TOKENIZER_MODEL}: {WHERE_TO_GET}")
    return path


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConversionError(f"cannot read {path}: {error}") from None
    if not isinstance(value, dict):
        raise ConversionError(f"{path} does not hold a JSON object")
    return value


def _content(value: Any) -> str | None:
    """A token as the side files write it: a string or ``{"content": ...}``."""
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) else None


def read_side_files(folder: str | Path) -> SideFiles:
    """The added tokens, special-token roles and BOS/EOS options of a published tokenizer folder."""
    folder = Path(folder)
    side = SideFiles()
    if (folder / ADDED_TOKENS_FILE).is_file():
        added = _read_json(folder / ADDED_TOKENS_FILE)
        if not all(isinstance(k, str) and isinstance(v, int) for k, v in added.items()):
            raise ConversionError(f"{folder / ADDED_TOKENS_FILE} must map token strings to integer ids")
        side.added = dict(added)
    for name in (TOKENIZER_CONFIG_FILE, SPECIAL_TOKENS_FILE):  # the special-tokens map wins where both say
        if not (folder / name).is_file():
            continue
        values = _read_json(folder / name)
        for role in _SPECIAL_ROLES:
            if _content(values.get(role)) is not None:
                side.roles[role] = _content(values[role])
        extra = values.get("additional_special_tokens") or values.get("extra_special_tokens") or []
        if isinstance(extra, list):
            side.additional_special += [c for c in map(_content, extra) if c is not None]
        if name == TOKENIZER_CONFIG_FILE:
            for key, entry in (values.get("added_tokens_decoder") or {}).items():
                if not isinstance(entry, dict) or _content(entry) is None or not str(key).isdigit():
                    raise ConversionError(f"{folder / name}: bad added_tokens_decoder entry {key!r}")
                side.decoder[int(key)] = entry
            side.add_bos_token = bool(values.get("add_bos_token", True))
            side.add_eos_token = bool(values.get("add_eos_token", False))
    return side


def read_sentencepiece(path: Path):
    """The parsed SentencePiece ``ModelProto``; a :class:`ConversionError` when it is not a readable model."""
    try:
        import sentencepiece
        from sentencepiece import sentencepiece_model_pb2
    except Exception as error:  # noqa: BLE001 - missing packages, or a protobuf runtime older than the module
        raise ConversionError(
            "converting a SentencePiece tokenizer needs the sentencepiece and protobuf packages "
            f"(pip install -U sentencepiece protobuf): {error}"
        ) from None
    try:
        data = path.read_bytes()
        sentencepiece.SentencePieceProcessor(model_proto=data)  # the library's own validity check
        proto = sentencepiece_model_pb2.ModelProto()
        proto.ParseFromString(data)
    except Exception as error:  # noqa: BLE001 - sentencepiece and protobuf raise assorted errors on bad files
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConversionError(f"{path} is not a readable SentencePiece model ({message}); {WHERE_TO_GET}") from None
    if proto.trainer_spec.model_type not in (_BPE, _UNIGRAM):
        raise ConversionError(f"{path} is neither a BPE nor a unigram SentencePiece model")
    return proto


def collect_added_tokens(proto, side: SideFiles, source: str = "the tokenizer files") -> list[AddedToken]:
    """Every token that must be matched whole, with its id: the model's control and user-defined pieces, then the
    ``added_tokens_decoder`` of ``tokenizer_config.json``, then ``added_tokens.json``.

    Ids below the SentencePiece size rename that piece (as chat models do for their turn markers); ids past it must
    continue the vocabulary without gaps, as ``add_tokens`` created them.
    """
    size = len(proto.pieces)
    special_names = set(side.roles.values()) | set(side.additional_special)
    found: dict[int, AddedToken] = {}
    for index, piece in enumerate(proto.pieces):
        if piece.type in (_UNKNOWN, _CONTROL, _USER_DEFINED):
            special = piece.type != _USER_DEFINED or piece.piece in special_names
            found[index] = AddedToken(piece.piece, index, special)
    for index, entry in sorted(side.decoder.items()):
        content = _content(entry)
        special = bool(entry.get("special", content in special_names))
        flags = {name: bool(entry.get(name, False)) for name in ("lstrip", "rstrip", "single_word")}
        found[index] = AddedToken(content, index, special, **flags)
    for content, index in sorted(side.added.items(), key=lambda item: item[1]):
        known = found.get(index)
        if known is not None and known.content != content:
            raise ConversionError(f"{source} give id {index} to both {known.content!r} and {content!r}")
        if known is None:
            if index < size and proto.pieces[index].piece != content:
                raise ConversionError(
                    f"{source} give {content!r} the id {index}, which is the piece {proto.pieces[index].piece!r}"
                )
            found[index] = AddedToken(content, index, content in special_names)
    by_content: dict[str, int] = {}
    for token in found.values():
        if by_content.setdefault(token.content, token.id) != token.id:
            raise ConversionError(f"{source} give {token.content!r} two ids: {by_content[token.content]}, {token.id}")
    beyond = sorted(i for i in found if i >= size)
    if beyond != list(range(size, size + len(beyond))):
        raise ConversionError(
            f"{source} add tokens with ids {beyond}, but they must continue the {size}-piece vocabulary without gaps"
        )
    return [found[i] for i in sorted(found)]


def _normalizer(spec):
    """SentencePiece's normalization as ``tokenizers`` steps: character map, extra spaces, dummy prefix, ``▁``."""
    from tokenizers import Regex, normalizers

    steps = []
    if spec.precompiled_charsmap:
        steps.append(normalizers.Precompiled(spec.precompiled_charsmap))
    if spec.remove_extra_whitespaces:
        steps += [normalizers.Replace(Regex("^ +| +$"), ""), normalizers.Replace(Regex(" {2,}"), " ")]
    if spec.add_dummy_prefix:
        steps.append(normalizers.Prepend(_SPACE))
    if spec.escape_whitespaces:
        steps.append(normalizers.Replace(" ", _SPACE))
    return normalizers.Sequence(steps)


def build_tokenizer(proto, added: list[AddedToken], side: SideFiles):
    """The ``tokenizers.Tokenizer`` equivalent of the SentencePiece model plus its added tokens."""
    from tokenizers import AddedToken as RustAddedToken
    from tokenizers import Tokenizer, decoders, processors
    from tokenizers.models import BPE, Unigram
    from transformers.tokenization_utils_base import generate_merges

    renamed = {token.id: token.content for token in added if token.id < len(proto.pieces)}
    pieces = [(renamed.get(i, p.piece), p.score, p.type) for i, p in enumerate(proto.pieces)]
    spec, trainer = proto.normalizer_spec, proto.trainer_spec
    byte_fallback = bool(trainer.byte_fallback)
    if trainer.model_type == _BPE:
        vocab = {piece: index for index, (piece, _, _) in enumerate(pieces)}
        scores = {piece: score for index, (piece, score, kind) in enumerate(pieces) if kind == _NORMAL}
        fixed = [piece for index, (piece, _, kind) in enumerate(pieces) if kind != _NORMAL or index in renamed]
        merges = generate_merges(vocab, scores, skip_tokens=fixed)  # highest-scoring piece merges first
        model = BPE(vocab, merges, unk_token=pieces[trainer.unk_id][0], fuse_unk=True, byte_fallback=byte_fallback)
    else:
        model = Unigram([(piece, score) for piece, score, _ in pieces], trainer.unk_id, byte_fallback)
    tokenizer = Tokenizer(model)
    tokenizer.normalizer = _normalizer(spec)
    steps = [decoders.Replace(_SPACE, " ")] + ([decoders.ByteFallback()] if byte_fallback else [])
    steps.append(decoders.Fuse())
    if spec.add_dummy_prefix:
        steps.append(decoders.Strip(" ", 1, 0))
    tokenizer.decoder = decoders.Sequence(steps)
    for token in added:  # in id order, so tokens past the SentencePiece vocabulary get their published ids
        rust = RustAddedToken(
            token.content,
            single_word=token.single_word,
            lstrip=token.lstrip,
            rstrip=token.rstrip,
            normalized=False,
            special=token.special,
        )
        (tokenizer.add_special_tokens if token.special else tokenizer.add_tokens)([rust])
        if tokenizer.token_to_id(token.content) != token.id:
            raise ConversionError(f"could not give {token.content!r} its id {token.id}")
    bos, eos = _role(pieces, side, "bos_token", trainer.bos_id), _role(pieces, side, "eos_token", trainer.eos_id)
    template, specials = "$A", []
    if side.add_bos_token and bos is not None:
        template, specials = f"{bos}:0 {template}", [(bos, tokenizer.token_to_id(bos))]
    if side.add_eos_token and eos is not None:
        template += f" {eos}:0"
        specials.append((eos, tokenizer.token_to_id(eos)))
    tokenizer.post_processor = processors.TemplateProcessing(
        single=template, pair=f"{template} {template.replace(':0', ':1').replace('$A', '$B')}", special_tokens=specials
    )
    return tokenizer


def _role(pieces, side: SideFiles, role: str, default_id: int) -> str | None:
    """The token playing ``role``: what the side files say, else the SentencePiece model's own piece."""
    if role in side.roles:
        return side.roles[role]
    return pieces[default_id][0] if 0 <= default_id < len(pieces) else None


def load_sentencepiece_tokenizer(source_folder: str | Path, extra_added: dict[str, int] | None = None):
    """The converted tokenizer in memory (a ``PreTrainedTokenizerFast``); nothing is written.

    ``extra_added``: added tokens (content -> id) from another folder, e.g. the [SEG] / <p> / </p> of a GeoPixel
    checkpoint whose ``tokenizer.model`` comes from its base model's folder.
    """
    from transformers import PreTrainedTokenizerFast

    source_folder = Path(source_folder)
    proto = read_sentencepiece(find_tokenizer_model(source_folder))
    side = read_side_files(source_folder)
    for content, index in (extra_added or {}).items():
        if side.added.setdefault(content, index) != index:
            raise ConversionError(f"{content!r} has id {side.added[content]} in {source_folder} but {index} elsewhere")
    added = collect_added_tokens(proto, side, f"the tokenizer files of {source_folder}")
    backend = build_tokenizer(proto, added, side)
    pieces = [(p.piece, p.score, p.type) for p in proto.pieces]
    trainer = proto.trainer_spec
    roles = {
        "bos_token": _role(pieces, side, "bos_token", trainer.bos_id),
        "eos_token": _role(pieces, side, "eos_token", trainer.eos_id),
        "unk_token": _role(pieces, side, "unk_token", trainer.unk_id),
        "pad_token": _role(pieces, side, "pad_token", trainer.unk_id),  # GeoPixel pads with <unk>
    }
    roles = {role: value for role, value in roles.items() if value is not None}
    missing = [value for value in roles.values() if backend.token_to_id(value) is None]
    if missing:
        raise ConversionError(f"the special tokens {missing} of {source_folder} are not in its vocabulary")
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        clean_up_tokenization_spaces=False,
        add_bos_token=side.add_bos_token,
        add_eos_token=side.add_eos_token,
        **roles,
    )


def save_tokenizer(tokenizer, output_folder: str | Path) -> Path:
    """Write ``tokenizer.json``, ``tokenizer_config.json`` and ``special_tokens_map.json``; returns the first."""
    output_folder = Path(output_folder)
    output_folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(output_folder)
    roles = {role: getattr(tokenizer, role) for role in _SPECIAL_ROLES if getattr(tokenizer, role, None) is not None}
    (output_folder / SPECIAL_TOKENS_FILE).write_text(json.dumps(roles, indent=2, ensure_ascii=False), encoding="utf-8")
    return output_folder / TOKENIZER_FILE


def convert_sentencepiece_tokenizer(
    source_folder: str | Path, output_folder: str | Path, extra_added: dict[str, int] | None = None
) -> Path:
    """Convert the SentencePiece tokenizer of ``source_folder`` into ``output_folder``; returns ``tokenizer.json``.

    Raises :class:`ConversionError` when ``tokenizer.model`` is missing or unreadable, or the added-token files
    contradict it; nothing is written then.
    """
    return save_tokenizer(load_sentencepiece_tokenizer(source_folder, extra_added), output_folder)
