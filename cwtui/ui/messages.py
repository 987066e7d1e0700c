"""Messages that more than one screen cares about."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class ConfigChanged(Message):
    """The config file was written (a server or pair saved or removed); screens showing it reload."""

    what: str = ""
