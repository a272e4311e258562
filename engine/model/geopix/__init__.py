"""The GeoPix model family (LLaVA-1.5 with a multi-scale mask decoder): see ``family.py`` for how the engine uses it,
``model.py`` for the model and ``chat.py`` for the released prompt and image handling."""
