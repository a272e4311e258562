"""Processing provider: the engine's algorithms for the toolbox, the model builder, batch mode and qgis_process."""
