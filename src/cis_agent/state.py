"""Where the agent keeps its sign-in between commands: a token per server, for your eyes only."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any


def state_dir() -> Path:
    configured = os.environ.get("CIS_AGENT_HOME")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state")) / "cis-agent"


def _path() -> Path:
    return state_dir() / "sessions.json"


def _load() -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(_path().read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return data


def _save(data: dict[str, Any]) -> None:
    path = _path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle)
    os.replace(tmp, path)


def save_session(
    server: str, *, token: str, expires_at: str, user_id: str, name: str, chip_serial: str
) -> None:
    data = _load()
    data[server.rstrip("/")] = {
        "token": token,
        "expires_at": expires_at,
        "user_id": user_id,
        "name": name,
        "chip_serial": chip_serial,
    }
    _save(data)


def session_for(server: str) -> dict[str, Any] | None:
    entry = _load().get(server.rstrip("/"))
    if not entry:
        return None
    try:
        expires = dt.datetime.fromisoformat(str(entry["expires_at"]).replace("Z", "+00:00"))
    except ValueError:
        return None
    if expires <= dt.datetime.now(dt.UTC):
        return None
    return dict(entry)


def forget(server: str) -> None:
    data = _load()
    if data.pop(server.rstrip("/"), None) is not None:
        _save(data)
    with contextlib.suppress(FileNotFoundError):
        if not data:
            _path().unlink()
