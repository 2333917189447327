"""meshtui.xds"""
