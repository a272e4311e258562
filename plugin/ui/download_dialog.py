"""The progress dialog of a model download (and conversion): shows the task's phase and percentage, Cancel cancels
the task."""

from __future__ import annotations

from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import QProgressDialog, QWidget

from ..i18n import tr


class DownloadDialog(QProgressDialog):
    """Follows one download task (``ModelDownloadTask``); its owner calls :meth:`finish` when the task ends (whatever
    the outcome)."""

    def __init__(self, task, parent: QWidget | None = None) -> None:
        super().__init__(task.label(), tr("Cancel"), 0, 100, parent)
        self.setWindowTitle(tr("GeoGround"))
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setAutoClose(False)
        self.setAutoReset(False)
        self.setMinimumDuration(0)
        self.task = task
        task.progressChanged.connect(self._on_progress)
        task.phase_changed.connect(self.setLabelText)
        self.canceled.connect(task.cancel)

    def _on_progress(self, percent: float) -> None:
        self.setValue(int(percent))

    def finish(self) -> None:
        """Close without cancelling (QProgressDialog reports a close as a cancel)."""
        try:
            self.canceled.disconnect(self.task.cancel)
        except (TypeError, RuntimeError):
            pass
        self.close()
        self.deleteLater()
