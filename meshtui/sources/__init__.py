"""meshtui.sources"""
