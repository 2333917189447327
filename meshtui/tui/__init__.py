"""meshtui.tui"""
