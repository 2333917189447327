"""meshtui's two themes. Like k9s skins they are data; any Textual theme name works too
(`:theme NAME`, or `theme:` in the config file)."""

from __future__ import annotations

from textual.theme import Theme

DARK = Theme(
    name="meshtui-dark",
    primary="#4C9BE8",
    secondary="#8E7CC3",
    accent="#5FD7D7",
    warning="#E5B94E",
    error="#F0676B",
    success="#7CC97C",
    foreground="#D8DEE9",
    background="#15191F",
    surface="#1B2028",
    panel="#232A35",
    dark=True,
)

LIGHT = Theme(
    name="meshtui-light",
    primary="#1F5FAF",
    secondary="#6A4FB0",
    accent="#00727A",
    warning="#9A6400",
    error="#B3261E",
    success="#21732F",
    foreground="#1D232B",
    background="#F7F8FA",
    surface="#FFFFFF",
    panel="#E6EAF0",
    dark=False,
)

THEMES = (DARK, LIGHT)
DEFAULT_DARK = DARK.name
DEFAULT_LIGHT = LIGHT.name


def resolve(name: str) -> str:
    """`dark`/`light` are shorthands for meshtui's own themes."""
    return {"dark": DEFAULT_DARK, "light": DEFAULT_LIGHT}.get(name.strip().lower(), name.strip())
