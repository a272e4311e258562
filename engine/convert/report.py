"""What a conversion did with every key: mapped, dropped on purpose, derived, and what went wrong."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class ConversionError(ValueError):
    """The checkpoint does not match the expected layout; ``report`` says which keys."""

    def __init__(self, message: str, report: ConversionReport | None = None) -> None:
        super().__init__(message)
        self.report = report


@dataclass
class ConversionReport:
    """Key accounting of one conversion. A conversion succeeds only when ``missing`` and ``unexpected`` are empty."""

    source_keys: int = 0
    written_keys: int = 0
    dropped: dict[str, list[str]] = field(default_factory=dict)  # reason -> source keys
    derived: dict[str, str] = field(default_factory=dict)  # our key -> how it was computed
    missing: list[str] = field(default_factory=list)  # our keys nothing produced
    unexpected: list[str] = field(default_factory=list)  # source keys no rule maps
    shape_errors: list[str] = field(default_factory=list)
    tokenizer: dict[str, Any] = field(default_factory=dict)  # source, tokens, added_tokens (content -> id)

    def drop(self, reason: str, key: str) -> None:
        self.dropped.setdefault(reason, []).append(key)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.shape_errors)

    def summary(self) -> str:
        lines = [f"source keys: {self.source_keys}, written: {self.written_keys}"]
        for reason, keys in sorted(self.dropped.items()):
            lines.append(f"dropped ({reason}): {len(keys)}")
        for key, how in sorted(self.derived.items()):
            lines.append(f"derived {key}: {how}")
        for title, keys in (("missing", self.missing), ("unexpected", self.unexpected)):
            lines.append(f"{title}: {len(keys)}" + (": " + ", ".join(keys[:20]) if keys else ""))
        lines += [f"shape error: {error}" for error in self.shape_errors[:20]]
        if self.tokenizer:
            items = sorted(self.tokenizer["added_tokens"].items(), key=lambda item: item[1])
            added = ", ".join(f"{token}={index}" for token, index in items[-12:])  # the newest ones matter most
            more = f" (and {len(items) - 12} more)" if len(items) > 12 else ""
            lines.append(f"tokenizer: {self.tokenizer['tokens']} tokens from {self.tokenizer['source']}")
            lines.append(f"tokenizer added tokens: {added}{more}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "source_keys": self.source_keys,
            "written_keys": self.written_keys,
            "dropped": {reason: len(keys) for reason, keys in self.dropped.items()},
            "derived": self.derived,
            "missing": self.missing,
            "unexpected": self.unexpected,
            "shape_errors": self.shape_errors,
            "tokenizer": self.tokenizer,
        }
