"""The GeoGround model family, which also carries GeoPixel's published layout: see ``family.py`` for how the engine
uses it and ``modeling.py`` for the model itself. Kept free of imports so its modules load one by one."""
