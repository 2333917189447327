"""The app's views (one Textual mode each) and the screens they push.

Views are imported when first shown: the what-if view pulls in Textual's TextArea, which alone
costs a few hundred milliseconds at start-up, and most sessions open one or two views."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.screen import Screen

# mode -> (module, class)
VIEW_SCREENS: dict[str, tuple[str, str]] = {
    "resources": ("meshtui.tui.screens.resources", "ResourcesScreen"),
    "trace": ("meshtui.tui.screens.trace", "TraceScreen"),
    "whatif": ("meshtui.tui.screens.whatif", "WhatIfScreen"),
    "gameday": ("meshtui.tui.screens.gameday", "GameDayScreen"),
    "proxies": ("meshtui.tui.screens.proxies", "ProxiesScreen"),
    "findings": ("meshtui.tui.screens.findings", "FindingsScreen"),
}


def make_view(mode: str) -> Screen:
    module, name = VIEW_SCREENS[mode]
    screen: Screen = getattr(importlib.import_module(module), name)()
    return screen


__all__ = ["VIEW_SCREENS", "make_view"]
