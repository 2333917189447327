"""meshtui.model"""
