from meshtui.cli import entry

entry()
