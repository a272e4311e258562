"""The chat dock: pick a raster layer, type an instruction, read the grounded answer."""

from __future__ import annotations

import html
from urllib.parse import quote, unquote

from qgis.core import QgsMapLayerProxyModel
from qgis.gui import QgsMapLayerComboBox
from qgis.PyQt.QtCore import QUrl, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..i18n import tr
from ..settings import DEVICE_CHOICES, MODELS, Settings, model_choices
from .example_picker import example_count

DOCK_OBJECT_NAME = "GeoGroundChatDock"
NNBSP = "\u202f"  # narrow no-break space


class ChatDock(QDockWidget):
    """Conversation view plus input; emits ``instruction_submitted`` with the raster layer and the text."""

    instruction_submitted = pyqtSignal(object, str)
    stop_requested = pyqtSignal()
    phrase_clicked = pyqtSignal(str, str)  # result layer id, phrase
    export_requested = pyqtSignal()
    draw_requested = pyqtSignal()  # the user wants to draw the rectangle of the "Drawn rectangle" area
    pick_toggled = pyqtSignal(bool)  # "Pick examples" pressed (True) or released (False)
    use_selected_requested = pyqtSignal(object)  # "Use selected features": the chosen layer, None for the active one
    clear_examples_requested = pyqtSignal()
    find_requested = pyqtSignal(object, str)  # "Find all like these": raster layer, the phrase typed ("" for none)
    closed = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(tr("GeoGround chat"), parent)
        self.setObjectName(DOCK_OBJECT_NAME)
        body = QWidget(self)
        layout = QVBoxLayout(body)

        self.layer_combo = QgsMapLayerComboBox(body)
        self.layer_combo.setFilters(QgsMapLayerProxyModel.RasterLayer)
        self.layer_combo.setAllowEmptyLayer(False)
        layout.addWidget(self.layer_combo)

        options = QHBoxLayout()
        self.scope_combo = QComboBox(body)
        self.scope_combo.addItem(tr("Current view"), "view")
        self.scope_combo.addItem(tr("Whole layer"), "layer")
        self.scope_combo.addItem(tr("Selected polygon"), "selection")
        self.scope_combo.addItem(tr("Drawn rectangle"), "rectangle")
        self.scope_combo.setToolTip(tr("The part of the raster the instruction is about"))
        self.scope_combo.activated.connect(self._on_scope_chosen)
        self.draw_button = QToolButton(body)
        self.draw_button.setText(tr("Draw"))
        self.draw_button.setToolTip(tr("Draw a rectangle on the map (area “Drawn rectangle”)"))
        self.draw_button.clicked.connect(self._on_draw)
        self.model_combo = QComboBox(body)
        self.model_combo.setEditable(True)
        self.model_combo.setToolTip(tr("Model: a name, a local folder or a Hugging Face hub id"))
        default_model = Settings.load().default_model
        self.model_combo.addItems(list(dict.fromkeys([default_model, *model_choices()])))
        MODELS.changed.connect(self.refresh_models)  # a fine-tuned model is listed as soon as it is saved
        self.device_combo = QComboBox(body)
        self.device_combo.setToolTip(tr("Where the model runs"))
        self.device_combo.addItems(list(DEVICE_CHOICES))
        self.device_combo.setCurrentText(Settings.load().device)
        self.export_button = QPushButton(tr("Export…"), body)
        self.export_button.setToolTip(tr("Export result layers and the conversation to a GeoPackage"))
        self.export_button.clicked.connect(self.export_requested)
        options.addWidget(self.scope_combo)
        options.addWidget(self.draw_button)
        options.addWidget(self.model_combo, 1)
        options.addWidget(self.device_combo)
        options.addWidget(self.export_button)
        layout.addLayout(options)

        self.conversation = QTextBrowser(body)
        self.conversation.setOpenLinks(False)
        self.conversation.anchorClicked.connect(self._on_anchor)
        self._blocks: list[str] = []  # HTML paragraphs; the last one is rewritten while an answer streams
        self._streaming: str | None = None
        self._busy = False  # a job (or the model download before it) is running
        layout.addWidget(self.conversation, 1)

        examples = QHBoxLayout()
        self.pick_button = QToolButton(body)
        self.pick_button.setObjectName("GeoGroundPickExamples")
        self.pick_button.setText(tr("Pick examples"))
        self.pick_button.setCheckable(True)
        self.pick_button.setToolTip(
            tr("Click objects on the map: each click is an example (Esc or another map tool ends picking)")
        )
        self.pick_button.toggled.connect(self.pick_toggled)
        self.examples_layer_combo = QgsMapLayerComboBox(body)
        self.examples_layer_combo.setFilters(QgsMapLayerProxyModel.PolygonLayer | QgsMapLayerProxyModel.PointLayer)
        self.examples_layer_combo.setAllowEmptyLayer(True, tr("Active layer"))
        self.examples_layer_combo.setLayer(None)
        self.examples_layer_combo.setToolTip(tr("The polygon or point layer whose selected features are examples"))
        self.use_selected_button = QPushButton(tr("Use selected features"), body)
        self.use_selected_button.setObjectName("GeoGroundUseSelectedExamples")
        self.use_selected_button.setToolTip(tr("The selected polygons or points of that layer become examples"))
        self.use_selected_button.clicked.connect(
            lambda: self.use_selected_requested.emit(self.examples_layer_combo.currentLayer())
        )
        self.clear_examples_button = QPushButton(tr("Clear examples"), body)
        self.clear_examples_button.setObjectName("GeoGroundClearExamples")
        self.clear_examples_button.clicked.connect(self.clear_examples_requested)
        examples.addWidget(self.pick_button)
        examples.addWidget(self.use_selected_button)
        examples.addWidget(self.examples_layer_combo, 1)
        examples.addWidget(self.clear_examples_button)
        layout.addLayout(examples)
        find_row = QHBoxLayout()
        self.examples_label = QLabel(body)
        self.examples_label.setObjectName("GeoGroundExampleCount")
        self.find_button = QPushButton(tr("Find all like these"), body)
        self.find_button.setObjectName("GeoGroundFindAllLikeThese")
        self.find_button.setToolTip(
            tr(
                "Find every object like the examples in the chosen area; text typed below (e.g. “storage tank”) "
                "names them"
            )
        )
        self.find_button.clicked.connect(self.find_all)
        find_row.addWidget(self.examples_label, 1)
        find_row.addWidget(self.find_button)
        layout.addLayout(find_row)
        self.set_example_count(0)

        self.progress = QProgressBar(body)
        self.progress.setRange(0, 100)
        self.progress.setVisible(False)
        layout.addWidget(self.progress)

        row = QHBoxLayout()
        self.input = QLineEdit(body)
        self.input.setPlaceholderText(tr("e.g. Segment all storage tanks"))
        self.input.returnPressed.connect(self.submit)
        self.send_button = QPushButton(tr("Send"), body)
        self.send_button.clicked.connect(self.submit)
        self.stop_button = QPushButton(tr("Stop"), body)
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop_requested)
        row.addWidget(self.input, 1)
        row.addWidget(self.send_button)
        row.addWidget(self.stop_button)
        layout.addLayout(row)
        self.setWidget(body)

    def submit(self) -> None:
        """Validate the input and emit it; problems are shown in the conversation, never raised.

        The input is cleared only when the instruction was taken (a job started); when it is refused (no selection,
        no rectangle, still busy...) the text stays, to send again once the problem is fixed.
        """
        text = self.input.text().strip()
        layer = self.layer_combo.currentLayer()
        if not text:
            self.show_notice(tr("Type an instruction first, for example “Segment all buildings”."))
            return
        if layer is None:
            self.show_notice(tr("Add or select a raster layer first."))
            return
        was_busy = self._busy
        question = len(self._blocks)
        self.append_message("user", text)
        self.instruction_submitted.emit(layer, text)
        if self._busy and not was_busy:
            self.input.clear()
        elif question < len(self._blocks) and self._blocks[question] == self._message_html("user", html.escape(text)):
            del self._blocks[question]  # refused: the notice that says why stays, the question goes back to the input
            self._render()

    def find_all(self) -> None:
        """Ask for every object like the examples; the text in the input, when there is some, names them. Cleared
        only when a job started, as for an instruction."""
        layer = self.layer_combo.currentLayer()
        if layer is None:
            self.show_notice(tr("Add or select a raster layer first."))
            return
        was_busy = self._busy
        self.find_requested.emit(layer, self.input.text().strip())
        if self._busy and not was_busy:
            self.input.clear()

    def set_example_count(self, count: int) -> None:
        """Say how many examples are set; "Clear examples" only when there are some."""
        self.examples_label.setText(example_count(count))
        self.clear_examples_button.setEnabled(count > 0)

    def set_picking(self, picking: bool) -> None:  # noqa: FBT001 - the pick tool's state
        """Show whether the pick tool is the map tool (without asking to start or stop it again)."""
        self.pick_button.blockSignals(True)
        self.pick_button.setChecked(picking)
        self.pick_button.blockSignals(False)

    def _on_scope_chosen(self, index: int) -> None:
        if self.scope_combo.itemData(index) == "rectangle":
            self.draw_requested.emit()

    def _on_draw(self) -> None:
        self.scope_combo.setCurrentIndex(self.scope_combo.findData("rectangle"))
        self.draw_requested.emit()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.closed.emit()
        super().closeEvent(event)

    def append_message(self, role: str, text: str) -> None:
        self._add_block(self._message_html(role, html.escape(text)))

    def show_notice(self, text: str) -> None:
        self._add_block(f'<p style="color:#a15c00"><i>{html.escape(text)}</i></p>')

    def begin_answer(self) -> None:
        """Open the paragraph that streamed text goes into."""
        self._streaming = ""
        self._add_block(self._message_html("assistant", "…"))

    def stream_text(self, text: str) -> None:
        if self._streaming is None:
            return
        self._streaming += text
        self._blocks[-1] = self._message_html("assistant", html.escape(self._streaming))
        self._render()

    @property
    def scope(self) -> str:
        return self.scope_combo.currentData()

    @property
    def model(self) -> str:
        return self.model_combo.currentText().strip()

    def refresh_models(self) -> None:
        """List the shipped, published and user's own models again, keeping the model chosen or typed."""
        current = self.model_combo.currentText()
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        self.model_combo.addItems(list(dict.fromkeys([current, *model_choices()])))
        self.model_combo.setCurrentText(current)
        self.model_combo.blockSignals(False)

    @property
    def device(self) -> str:
        return self.device_combo.currentText()

    def show_history(self, turns: list[dict]) -> None:
        """Replace the view with a stored conversation (the one kept in the project's results GeoPackage); an answer
        whose turn carries ``layer_id`` and ``colors`` gets its phrase links back, as when it was given."""
        self._blocks.clear()
        self._streaming = None
        for turn in turns:
            text = str(turn["text"] or "")
            if turn["role"] == "assistant" and turn.get("layer_id"):
                body = self._answer_html(text, turn.get("colors") or {}, turn["layer_id"])
            else:
                body = html.escape(text)
            self._blocks.append(self._message_html(turn["role"], body))
        self._render()

    def end_answer(
        self, text: str | None = None, colors: dict[str, str] | None = None, summary: str = "", layer_id: str = ""
    ) -> None:
        """Replace the streamed paragraph with the final answer, each grounded phrase in its layer colour and a link
        that selects its polygons."""
        if self._streaming is None:
            return
        self._streaming = None
        if text is None:
            self._blocks.pop()
            self._render()
            return
        body = self._answer_html(text, colors or {}, layer_id)
        if summary:
            body += f"<br><small>{html.escape(summary)}</small>"
        self._blocks[-1] = self._message_html("assistant", body)
        self._render()

    @staticmethod
    def _answer_html(text: str, colors: dict[str, str], layer_id: str) -> str:
        """The answer with each grounded phrase in its colour, as a link that selects its polygons."""
        body = html.escape(text)
        if not layer_id:
            return body
        for phrase, color in sorted(colors.items(), key=lambda item: -len(item[0])):
            escaped = html.escape(phrase)
            href = f"phrase:{quote(layer_id, safe='')}/{quote(phrase, safe='')}"
            link = f'<a href="{href}" style="color:{color}; font-weight:bold; text-decoration:none">{escaped}</a>'
            body = body.replace(escaped, link, 1) if escaped in body else body + f" [{link}]"
        return body

    def _on_anchor(self, url: QUrl) -> None:
        target = url.toString()
        if target.startswith("phrase:"):
            layer_id, _, phrase = target[len("phrase:") :].partition("/")
            self.phrase_clicked.emit(unquote(layer_id), unquote(phrase))

    def _message_html(self, role: str, body_html: str) -> str:
        who = tr("You:") if role == "user" else tr("GeoGround:")  # the colon is translated: French puts a space
        return f"<p><b>{html.escape(who)}</b> {body_html}</p>"

    def _add_block(self, block: str) -> None:
        self._blocks.append(block)
        self._render()

    def _render(self) -> None:
        # Qt's HTML reader turns the narrow no-break space of French punctuation ("Vous :") into a plain, breakable
        # space unless white space is preserved around it.
        self.conversation.setHtml("".join(self._blocks).replace(NNBSP, f'<span style="white-space:pre">{NNBSP}</span>'))
        bar = self.conversation.verticalScrollBar()
        bar.setValue(bar.maximum())

    def show_status(self, text: str) -> None:
        """What the running job is doing (loading the model, tiles done), on the progress bar."""
        self.progress.setTextVisible(True)
        self.progress.setFormat(f"{text}  %p%")
        self.progress.setToolTip(text)

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.send_button.setEnabled(not busy)
        self.find_button.setEnabled(not busy)
        self.stop_button.setEnabled(busy)
        self.progress.setVisible(busy)
        if busy:
            self.progress.setValue(0)
            self.progress.setFormat("%p%")
            self.progress.setToolTip("")
