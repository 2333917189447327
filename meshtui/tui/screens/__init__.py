"""The app's views (one Textual mode each) and the screens they push."""

from meshtui.tui.screens.findings import FindingsScreen
from meshtui.tui.screens.gameday import GameDayScreen
from meshtui.tui.screens.proxies import ProxiesScreen
from meshtui.tui.screens.resources import ResourcesScreen
from meshtui.tui.screens.trace import TraceScreen
from meshtui.tui.screens.whatif import WhatIfScreen

VIEW_SCREENS = {
    "resources": ResourcesScreen,
    "trace": TraceScreen,
    "whatif": WhatIfScreen,
    "gameday": GameDayScreen,
    "proxies": ProxiesScreen,
    "findings": FindingsScreen,
}

__all__ = ["VIEW_SCREENS"]
