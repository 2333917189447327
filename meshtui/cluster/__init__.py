"""meshtui.cluster"""
