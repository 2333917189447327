"""meshtui.simulate"""
