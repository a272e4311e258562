"""Widgets of the plugin (no processing logic here: work runs in tasks)."""
