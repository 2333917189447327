"""The TUI's user settings: a YAML file under XDG, like k9s' config.

    $MESHTUI_CONFIG_FILE, else $XDG_CONFIG_HOME/meshtui/config.yaml (~/.config/meshtui/config.yaml)

    theme: meshtui-light          # or meshtui-dark, or any Textual theme name
    readonly: true                # as --readonly
    keymap:                       # binding id -> key(s); `?` in the app shows every id
      trace.focus-url: ctrl+u
      app.quit: ctrl+q,q
    aliases:                      # your own `:` commands
      rv: vs reviews

A bad file never stops the app: each problem becomes a warning that names the file, the line and
the field, shown when the app starts."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

_KEY_OK = set("abcdefghijklmnopqrstuvwxyz0123456789+-_,")


@dataclass
class TuiConfig:
    theme: str | None = None
    readonly: bool = False
    keymap: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    path: str | None = None  # the file read, if any
    warnings: list[str] = field(default_factory=list)


def config_path(env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ) if env is None else env
    explicit = env.get("MESHTUI_CONFIG_FILE")
    if explicit:
        return Path(explicit)
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / "meshtui" / "config.yaml"


def _line_of(node: yaml.Node | None, key: str) -> int | None:
    if isinstance(node, yaml.MappingNode):
        for k, _v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return k.start_mark.line + 1
    return None


def load_config(path: str | Path | None = None, env: dict[str, str] | None = None) -> TuiConfig:
    p = Path(path) if path else config_path(env)
    cfg = TuiConfig()
    if not p.exists():
        return cfg
    cfg.path = str(p)
    try:
        text = p.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError) as exc:
        cfg.warnings.append(f"{p}: cannot be read ({exc}); using the defaults")
        return cfg
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{p}:{mark.line + 1}" if mark is not None else str(p)
        cfg.warnings.append(f"{where}: not valid YAML ({getattr(exc, 'problem', None) or exc}); using the defaults")
        return cfg
    if data is None:
        return cfg
    if not isinstance(data, dict):
        cfg.warnings.append(f"{p}:1: expected a map with theme, readonly, keymap, aliases; using the defaults")
        return cfg

    def warn(key: str, msg: str, sub: yaml.Node | None = None, subkey: str | None = None) -> None:
        line = _line_of(sub, subkey) if sub is not None and subkey else _line_of(node, key)
        cfg.warnings.append(f"{p}{':' + str(line) if line else ''}: {key}{'.' + subkey if subkey else ''}: {msg}")

    def child(key: str) -> yaml.Node | None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == key:
                    return v
        return None

    for key in data:
        if key not in ("theme", "readonly", "keymap", "aliases"):
            warn(str(key), "unknown setting (known: theme, readonly, keymap, aliases); ignored")
    theme = data.get("theme")
    if theme is not None:
        if isinstance(theme, str) and theme.strip():
            cfg.theme = theme.strip()
        else:
            warn("theme", "expected a theme name such as meshtui-dark or meshtui-light")
    ro = data.get("readonly")
    if ro is not None:
        if isinstance(ro, bool):
            cfg.readonly = ro
        else:
            warn("readonly", "expected true or false")
    keymap = data.get("keymap")
    if keymap is not None:
        if not isinstance(keymap, dict):
            warn("keymap", "expected a map of binding id -> key")
        else:
            for bid, keys in keymap.items():
                if not isinstance(bid, str) or not isinstance(keys, str) or not keys.strip():
                    warn("keymap", "expected a key such as ctrl+u (or several, comma-separated)", child("keymap"), str(bid))
                    continue
                norm = keys.replace(" ", "").lower()
                if not set(norm) <= _KEY_OK:
                    warn("keymap", f"{keys!r} is not a key name (use names like ctrl+u, f5, question_mark)",
                         child("keymap"), bid)
                    continue
                cfg.keymap[bid] = norm
    aliases = data.get("aliases")
    if aliases is not None:
        if not isinstance(aliases, dict):
            warn("aliases", "expected a map of alias -> command")
        else:
            for name, target in aliases.items():
                if not isinstance(name, str) or not isinstance(target, str) or not target.strip():
                    warn("aliases", "expected alias: command, e.g. rv: vs reviews", child("aliases"), str(name))
                    continue
                cfg.aliases[name.strip().lower()] = target.strip().lstrip(":")
    return cfg
