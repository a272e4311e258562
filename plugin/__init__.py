"""QGIS side of GeoGround: dock, actions, tasks, layers, Processing provider, settings, dependency checks.

Nothing here imports torch; the engine is reached only through ``..engine`` and only once its dependencies exist.
"""
