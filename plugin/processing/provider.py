"""The GeoGround Processing provider."""

from __future__ import annotations

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from ..i18n import tr
from ..resources import icon_path

PROVIDER_ID = "geoground"


class GeoGroundProvider(QgsProcessingProvider):
    """Registers GeoGround's algorithms; each algorithm imports the engine only when it runs."""

    def id(self) -> str:  # noqa: A003 - QGIS API name
        return PROVIDER_ID

    def name(self) -> str:
        return tr("GeoGround")

    def longName(self) -> str:  # noqa: N802
        return tr("GeoGround pixel-grounded raster assistant")

    def icon(self) -> QIcon:
        return QIcon(str(icon_path()))

    def loadAlgorithms(self) -> None:  # noqa: N802
        for algorithm in self._algorithms():
            self.addAlgorithm(algorithm)

    def _algorithms(self) -> list:
        from .algorithms import DescribeWithGroundedMasks, SegmentByInstruction
        from .dataset import BuildTrainingSet
        from .examples import FindAllLikeThese
        from .finetune import FineTuneModel

        algorithms = [SegmentByInstruction(), DescribeWithGroundedMasks(), FindAllLikeThese(), BuildTrainingSet()]
        return [*algorithms, FineTuneModel()]
