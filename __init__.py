"""GeoGround QGIS plugin: talk to a raster layer, get pixel-grounded answers.

QGIS imports this file when the plugin loads. It must stay importable without torch or any other engine dependency,
so everything heavy is imported lazily inside the plugin's methods.
"""


def classFactory(iface):  # noqa: N802 - name required by QGIS
    """Entry point called by QGIS with its interface object."""
    from .plugin.main import GeoGroundPlugin

    return GeoGroundPlugin(iface)
