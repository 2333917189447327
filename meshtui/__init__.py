"""meshtui: a terminal debugger for Istio service meshes."""

__version__ = "0.1.0"
