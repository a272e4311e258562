"""One percentage and a stop check for ``huggingface_hub.snapshot_download``, through its ``tqdm_class`` hook.

snapshot_download reports through tqdm bars (bytes written, files fetched) that its worker threads update. The bar
class built here prints nothing, turns those bars into one percentage for a progress callback, and raises
:class:`~engine.types.Cancelled` from inside ``update`` when a stop is requested, so every worker gives up at its next
chunk. Files completed before the stop stay in the cache and are not fetched again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from ..types import Cancelled


class DownloadProgress:
    """Collects the bars of one snapshot_download call; ``report(percent)`` is called on every update."""

    def __init__(self, report: Callable[[float], None], should_stop: Callable[[], bool]) -> None:
        self._report = report
        self._should_stop = should_stop
        self._lock = threading.Lock()
        self._bars: list = []

    def add(self, bar) -> None:
        with self._lock:
            self._bars.append(bar)

    def percent(self) -> float:
        """Bytes written over bytes known (the byte bars' totals grow as files start); file count before that."""
        with self._lock:
            bars = [bar for bar in self._bars if bar.total]
        byte_bars = [bar for bar in bars if bar.unit == "B"]
        chosen = byte_bars or bars
        if not chosen:
            return 0.0
        bar = max(chosen, key=lambda b: b.n / b.total)
        return max(0.0, min(100.0, 100.0 * bar.n / bar.total))

    def changed(self) -> None:
        if self._should_stop():
            raise Cancelled("download stopped")
        self._report(self.percent())

    def bar_class(self) -> type:
        """A tqdm class for snapshot_download's ``tqdm_class`` that reports here instead of printing."""
        from tqdm.auto import tqdm

        progress = self

        class ReportingBar(tqdm):
            monitor_interval = 0  # no tqdm monitor thread left behind (QGIS keeps running)

            def __init__(self, *args, **kwargs) -> None:
                kwargs["file"] = _Discard()
                kwargs.pop("name", None)
                super().__init__(*args, **kwargs)
                progress.add(self)

            def update(self, n: float | None = 1):
                shown = super().update(n)
                progress.changed()
                return shown

        return ReportingBar


class _Discard:
    """A text stream that drops what tqdm writes (the caller shows the progress its own way)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass
