"""Reusable widgets: the YAML view, the trace renderers, the frame (tabs, status, command line)."""
