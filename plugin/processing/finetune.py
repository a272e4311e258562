"""Processing "Fine-tune model": training sets made by "Build training set" + a base model -> a new model folder.

The engine process trains (``engine.train.finetune``) and reports every step; the log shows the loss as a text curve.
The new folder is written beside the destination and moved into place at the end, so a cancelled or failed run leaves
nothing, and the base model is only read. A finished model joins the user's own models (``settings.user_models``),
which the model pickers list.
"""

from __future__ import annotations

import math
import os

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingException,
    QgsProcessingOutputString,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
    QgsProcessingUtils,
)

from ..i18n import tr
from ..qt_compat import ProcessingTypes
from ..settings import Settings, add_user_model, is_model_folder

SEPARATOR = ";"  # between several training-set folders in one value
CURVE_LINES = 40  # about this many loss lines in the log, whatever the number of steps
BAR_WIDTH = 30  # characters of the first loss line's bar; later bars are scaled to it


class FineTuneModel(QgsProcessingAlgorithm):
    """Training-set folders + base model -> a fine-tuned model folder, added to the user's models."""

    DATASETS, DATASET_2, BASE, MINUTES, STEPS = "DATASETS", "DATASET_2", "BASE", "MINUTES", "STEPS"
    OUTPUT, MODEL, REPORT = "OUTPUT", "MODEL", "REPORT"

    def __init__(self) -> None:
        super().__init__()
        self._model: str | None = None  # the finished folder, added to the user's models in postProcessAlgorithm

    def createInstance(self):  # noqa: N802 - QGIS API
        return type(self)()

    def name(self) -> str:
        return "finetunemodel"

    def displayName(self) -> str:  # noqa: N802
        return tr("Fine-tune model")

    def shortHelpString(self) -> str:  # noqa: N802
        return tr(
            "Teaches a model the objects of your own training sets (folders made by “Build training set”; give "
            "several separated by ;). The base model (a name such as demo, or a model folder) is only read: the "
            "result is a new model folder, listed with your models once the run ends. The time budget includes "
            "loading, measuring the speed of a step and saving (an advanced setting trains a set number of steps "
            "instead). The log shows the loss every few steps. A cancelled run writes nothing."
        )

    def initAlgorithm(self, config=None) -> None:  # noqa: N802
        self.addParameter(
            QgsProcessingParameterFile(
                self.DATASETS,
                tr("Training set folder (several: separate them with ;)"),
                behavior=QgsProcessingParameterFile.Folder,
            )
        )
        self.addParameter(
            QgsProcessingParameterFile(
                self.DATASET_2,
                tr("Another training set folder"),
                behavior=QgsProcessingParameterFile.Folder,
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterString(
                self.BASE, tr("Base model (name or folder)"), defaultValue=Settings.load().default_model
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.MINUTES,
                tr("Time budget (minutes)"),
                type=ProcessingTypes.NumberDouble,
                defaultValue=10.0,
                minValue=0.5,
            )
        )
        steps = QgsProcessingParameterNumber(
            self.STEPS,
            tr("Number of steps, instead of the time budget"),
            type=ProcessingTypes.NumberInteger,
            optional=True,
            minValue=1,
        )
        steps.setFlags(steps.flags() | ProcessingTypes.ParameterAdvanced)
        self.addParameter(steps)
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT, tr("New model folder")))
        self.addOutput(QgsProcessingOutputString(self.MODEL, tr("Model folder")))
        self.addOutput(QgsProcessingOutputString(self.REPORT, tr("Report")))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        from ...engine import Cancelled
        from ..segmentation import engines, status_text

        datasets = self._datasets(parameters, context)
        base = self.parameterAsString(parameters, self.BASE, context).strip() or Settings.load().default_model
        if _looks_like_folder(base):
            base = os.path.abspath(os.path.expanduser(base))  # the same folder whatever the working folder
            if not is_model_folder(base):
                raise QgsProcessingException(
                    tr("The base model folder {} holds no model (no config.json).").format(base)
                )
        output = self._output(parameters, context)
        params = {"datasets": datasets, "base": base, "output": output}
        if _given(parameters, self.STEPS):  # a set number of steps: no time budget
            params |= {"minutes": None, "steps": self.parameterAsInt(parameters, self.STEPS, context)}
            plan = tr("Fine-tuning {} on {} for {} steps: loading the model…").format(
                base, ", ".join(datasets), params["steps"]
            )
        else:
            params |= {"minutes": self.parameterAsDouble(parameters, self.MINUTES, context), "steps": None}
            plan = tr("Fine-tuning {} on {} for at most {:g} minutes: loading the model and timing a step…").format(
                base, ", ".join(datasets), params["minutes"]
            )
        feedback.pushInfo(plan)
        feedback.setProgress(0)
        curve = LossCurve(feedback.pushInfo)

        def on_event(event: dict) -> None:
            if event.get("event") == "progress":
                done, total = int(event["done"]), max(int(event["total"]), 1)
                feedback.setProgress(100.0 * min(done, total) / total)
                curve.add(done, total, float(event.get("loss", math.nan)))
                return
            text = status_text(event)
            if text:
                feedback.pushInfo(text)

        try:
            done = engines().finetune(params, on_event, feedback.isCanceled)
        except Exception as exc:  # noqa: BLE001 - Processing shows QgsProcessingException messages to the user
            if feedback.isCanceled() or isinstance(exc, Cancelled):
                feedback.pushWarning(
                    tr("Fine-tuning cancelled: no model was written, and the base model {} is unchanged.").format(base)
                )
                return {}
            raise QgsProcessingException(tr("Fine-tuning failed: {}").format(exc)) from exc
        curve.finish()
        feedback.setProgress(100)
        text = report_text(done)
        feedback.pushInfo(text)
        self._model = str(done.get("model") or output)
        return {self.OUTPUT: self._model, self.MODEL: self._model, self.REPORT: text}

    def postProcessAlgorithm(self, context, feedback):  # noqa: N802 - runs in the main thread after a run
        if self._model is not None:
            try:
                add_user_model(self._model)
            except ValueError as exc:
                feedback.pushWarning(str(exc))
            else:
                feedback.pushInfo(tr("{} is now listed with your models.").format(self._model))
        return {}

    def _datasets(self, parameters, context) -> list[str]:
        """The training-set folders given (several in one value separated by ;), each checked."""
        values = [self.parameterAsFile(parameters, self.DATASETS, context)]
        if _given(parameters, self.DATASET_2):
            values.append(self.parameterAsFile(parameters, self.DATASET_2, context))
        folders: list[str] = []
        for value in values:
            for part in (value or "").split(SEPARATOR):
                folder = os.path.abspath(os.path.expanduser(part.strip())) if part.strip() else ""
                if folder and folder not in folders:
                    folders.append(folder)
        if not folders:
            raise QgsProcessingException(tr("Give at least one training set folder (made by “Build training set”)."))
        for folder in folders:
            if not os.path.isdir(folder):
                raise QgsProcessingException(tr("The training set folder {} does not exist.").format(folder))
            if not os.path.isfile(os.path.join(folder, "dataset.json")):
                raise QgsProcessingException(
                    tr("{} is not a training set folder (no dataset.json): make one with “Build training set”.").format(
                        folder
                    )
                )
        return folders

    def _output(self, parameters, context) -> str:
        """The new model folder: a lasting place (not Processing's temporary folder), new or empty."""
        output = self.parameterAsString(parameters, self.OUTPUT, context).strip()
        if not output:
            raise QgsProcessingException(tr("Choose a folder for the new model."))
        output = os.path.abspath(output)
        if _inside(output, QgsProcessingUtils.tempFolder()):
            raise QgsProcessingException(
                tr("Choose a folder for the new model: a temporary folder is deleted when QGIS closes.")
            )
        if os.path.exists(output) and (not os.path.isdir(output) or any(os.scandir(output))):
            raise QgsProcessingException(
                tr("{} already exists and is not an empty folder: choose a new folder for the model.").format(output)
            )
        return output


class LossCurve:
    """The loss as log lines every few steps (the mean since the previous line, with a bar scaled to the first)."""

    def __init__(self, say) -> None:
        self._say = say
        self._seen = 0  # the last step heard (the last step may be reported twice)
        self._pending: list[float] = []
        self._scale: float | None = None
        self._total = 0

    def add(self, step: int, total: int, loss: float) -> None:
        if step <= self._seen:
            return
        self._seen, self._total = step, total
        self._pending.append(loss)
        every = 10 * max(1, math.ceil(total / (10 * CURVE_LINES)))
        if step == 1 or step % every == 0 or step >= total:
            self._line(step)

    def finish(self) -> None:
        if self._pending:
            self._line(self._seen)

    def _line(self, step: int) -> None:
        finite = [value for value in self._pending if math.isfinite(value)]
        self._pending = []
        if not finite:
            return
        loss = sum(finite) / len(finite)
        if self._scale is None and loss > 0:
            self._scale = loss
        bar = "█" * max(1, min(2 * BAR_WIDTH, round(BAR_WIDTH * loss / self._scale))) if self._scale else ""
        self._say(tr("Step {} of {}: loss {:.4f}").format(step, self._total, loss) + "  " + bar)


def report_text(done: dict) -> str:
    """What the run did, for the log and the REPORT output."""
    return tr(
        "{} steps in {:.0f} s; loss {:.4f} at the first step, {:.4f} over the last tenth of the steps. Classes: {}. "
        "Parts trained: {}. The new model is in {}."
    ).format(
        int(done.get("steps", 0)),
        float(done.get("seconds", 0.0)),
        float(done.get("first_loss", math.nan)),
        float(done.get("last_loss", math.nan)),
        ", ".join(done.get("classes") or []),
        ", ".join(done.get("parts") or []),
        done.get("model", ""),
    )


def _given(parameters: dict, name: str) -> bool:
    return parameters.get(name) not in (None, "")


def _looks_like_folder(base: str) -> bool:
    """A path rather than a model name (a hub id such as org/model has one slash and does not exist here)."""
    return os.path.isabs(base) or base.startswith((".", "~")) or os.path.isdir(base)


def _inside(path: str, folder: str) -> bool:
    try:
        return os.path.commonpath([os.path.abspath(path), os.path.abspath(folder)]) == os.path.abspath(folder)
    except ValueError:  # on different drives
        return False
