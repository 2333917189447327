"""meshtui.analyze"""
