"""The Qt5/Qt6 differences the plugin meets, in one place, so the rest reads the same on QGIS 3.22 to QGIS 4.

* ``QAction`` lives in QtGui in Qt6 (QGIS 4); QGIS 3's ``qgis.PyQt.QtGui`` does not have it, its QtWidgets does.
* ``QgsField`` takes a ``QMetaType.Type`` from QGIS 3.38 on (and nothing else in QGIS 4) but only a ``QVariant.Type``
  before 3.38, so field types come from :class:`FieldType`.
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

__all__ = ["QAction", "FieldKind", "FieldType", "USES_QMETATYPE"]
