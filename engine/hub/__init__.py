"""Where models come from: shipped presets, local folders, hub ids and the published checkpoints by name.

``registry`` resolves a model argument and loads it; ``published`` downloads and converts the published GeoPixel and
GeoPix checkpoints once; ``progress`` turns the hub's download bars into one percentage with a stop check.
"""
