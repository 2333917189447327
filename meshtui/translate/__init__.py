"""meshtui.translate"""
