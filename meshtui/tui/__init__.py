"""meshtui.tui: the Textual app. `run_app(...)` in meshtui.tui.app is the entry point.

Layout: app.py (the app, modes, commands, workers), app.tcss (layout and theme use), screens/
(one module per view, plus dialogs, help and the pushed YAML screen), widgets/ (YAML view, trace
rendering, the frame), and plain-Python helpers the views share and tests use without a
terminal: workspace.py, related.py, tracing.py, tracediff.py, yamltext.py, commands.py,
config.py, themes.py."""
