"""The embedded demo: a bookinfo-like mesh on loopback, real Envoys, meshtui's control plane."""
