"""Areas in square metres and perimeters in metres for geometries in any CRS.

* Projected CRS: planar measures in the CRS, converted from its linear unit (feet, US survey feet...) to metres.
  Mercator-family projections (Web Mercator above all) are the exception: their scale grows with latitude (areas
  are 1.33x too large at 30 degrees, 4x at 60), so geometries are taken to the CRS's geographic datum and measured
  geodesically, like geographic CRS.
* Geographic CRS: geodesic area and perimeter on the CRS's ellipsoid (``pyproj.Geod``).
* No CRS (pixel coordinates): not measurable, NaN.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import shapely

from .pixels import pixel_corners

if TYPE_CHECKING:
    from affine import Affine
    from pyproj import CRS, Geod, Transformer

# pyproj is imported only when a CRS is actually measured: a Measurer without CRS (the QGIS plugin's case, which
# measures with QGIS's own geodesy) must not load pyproj's bundled PROJ into QGIS's process.


def to_crs(crs: object) -> CRS | None:
    """A pyproj CRS from WKT, "EPSG:n", an EPSG int, a rasterio CRS or a pyproj CRS; None stays None."""
    if crs is None or crs == "":
        return None
    import pyproj
    from pyproj import CRS

    if isinstance(crs, CRS):
        return crs
    if hasattr(crs, "to_wkt"):
        crs = crs.to_wkt()
    try:
        return CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise ValueError(f"not a coordinate reference system: {str(crs)[:80]!r}") from exc


class Measurer:
    """Measures many geometries of one CRS; built once because CRS analysis and transformers are not free."""

    def __init__(self, crs: object) -> None:
        self.crs = to_crs(crs)
        self.method = "none"
        self._unit_to_m = 1.0
        self._geod: Geod | None = None
        self._to_geographic: Transformer | None = None
        if self.crs is None:
            return
        if self.crs.is_geographic:
            self.method = "geodesic"
            self._geod = self.crs.get_geod()
        elif self.crs.is_projected and _is_mercator(self.crs):
            self.method = "geodesic"
            self._geod = self.crs.get_geod()
            from pyproj import Transformer

            self._to_geographic = Transformer.from_crs(self.crs, self.crs.geodetic_crs, always_xy=True)
        elif self.crs.is_projected:
            self.method = "planar"
            self._unit_to_m = self.crs.axis_info[0].unit_conversion_factor

    def area_perimeter(self, geometry: shapely.Geometry) -> tuple[float, float]:
        """(area in m2, perimeter in m); NaN for both when the CRS is unknown. Holes count in both."""
        if self.method == "planar":
            return geometry.area * self._unit_to_m**2, geometry.length * self._unit_to_m
        if self.method == "geodesic":
            if self._to_geographic is not None:
                geometry = shapely.transform(geometry, self._project_to_geographic)
            area, perimeter = self._geod.geometry_area_perimeter(geometry)
            return abs(area), perimeter
        return math.nan, math.nan

    def ground_pixel_size(self, transform: Affine, row: float, col: float) -> float:
        """Metres on the ground per pixel at pixel (``row``, ``col``) of a grid with this ``transform``: the side of
        a square of that pixel's measured area, so Web Mercator's nominal metres are corrected as areas are. NaN
        without a CRS."""
        area, _ = self.area_perimeter(shapely.Polygon(pixel_corners(transform, row, col)))
        return math.sqrt(area)

    def _project_to_geographic(self, coords: np.ndarray) -> np.ndarray:
        lon, lat = self._to_geographic.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])


def area_perimeter(geometry: shapely.Geometry, crs: object) -> tuple[float, float]:
    """One-off (area m2, perimeter m) of a geometry in ``crs``; use :class:`Measurer` for many."""
    return Measurer(crs).area_perimeter(geometry)


def _is_mercator(crs: CRS) -> bool:
    operation = crs.coordinate_operation
    name = (operation.method_name if operation is not None else "").lower()
    return "mercator" in name and "transverse" not in name
