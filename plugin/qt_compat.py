"""The Qt5/Qt6 differences the plugin meets, in one place, so the rest reads the same on QGIS 3.22 to QGIS 4.

* ``QAction`` lives in QtGui in Qt6 (QGIS 4); QGIS 3's ``qgis.PyQt.QtGui`` does not have it, its QtWidgets does.
* ``QgsField`` takes a ``QMetaType.Type`` from QGIS 3.38 on (and nothing else in QGIS 4) but only a ``QVariant.Type``
  before 3.38, so field types come from :class:`FieldType`.
* Processing parameters take QGIS's scoped enums (``Qgis.ProcessingSourceType`` ...) from 3.36 on, and QGIS 3.40's
  bindings refuse a plain int where one is expected; 3.22 has only the older ``QgsProcessing.Type*`` names. Both come
  from :class:`ProcessingTypes`.
"""

from __future__ import annotations

from qgis.core import Qgis

try:
    from qgis.PyQt.QtGui import QAction
except ImportError:
    from qgis.PyQt.QtWidgets import QAction

# First QGIS whose QgsField accepts QMetaType.Type.
QMETATYPE_FIELDS_SINCE = 33800
USES_QMETATYPE = Qgis.QGIS_VERSION_INT >= QMETATYPE_FIELDS_SINCE

if USES_QMETATYPE:
    from qgis.PyQt.QtCore import QMetaType

    class FieldType:
        """Attribute types for QgsField, as this QGIS takes them."""

        String = QMetaType.Type.QString
        Int = QMetaType.Type.Int
        LongLong = QMetaType.Type.LongLong
        Double = QMetaType.Type.Double

else:
    from qgis.PyQt.QtCore import QVariant

    class FieldType:
        """Attribute types for QgsField, as this QGIS takes them."""

        String = QVariant.String
        Int = QVariant.Int
        LongLong = QVariant.LongLong
        Double = QVariant.Double


FieldKind = type(FieldType.String)

if hasattr(Qgis, "ProcessingSourceType"):  # QGIS 3.36 and later

    class ProcessingTypes:
        """Layer, field and number kinds for Processing parameters, as this QGIS takes them."""

        VectorPolygon = Qgis.ProcessingSourceType.VectorPolygon
        VectorPoint = Qgis.ProcessingSourceType.VectorPoint
        FieldString = Qgis.ProcessingFieldParameterDataType.String
        NumberInteger = Qgis.ProcessingNumberParameterType.Integer
        NumberDouble = Qgis.ProcessingNumberParameterType.Double
        ParameterAdvanced = Qgis.ProcessingParameterFlag.Advanced

else:
    from qgis.core import (
        QgsProcessing,
        QgsProcessingParameterDefinition,
        QgsProcessingParameterField,
        QgsProcessingParameterNumber,
    )

    class ProcessingTypes:
        """Layer, field and number kinds for Processing parameters, as this QGIS takes them."""

        VectorPolygon = QgsProcessing.TypeVectorPolygon
        VectorPoint = QgsProcessing.TypeVectorPoint
        FieldString = QgsProcessingParameterField.String
        NumberInteger = QgsProcessingParameterNumber.Integer
        NumberDouble = QgsProcessingParameterNumber.Double
        ParameterAdvanced = QgsProcessingParameterDefinition.FlagAdvanced


__all__ = ["QAction", "FieldKind", "FieldType", "ProcessingTypes", "USES_QMETATYPE"]
