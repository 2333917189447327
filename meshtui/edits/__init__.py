"""meshtui.edits"""
