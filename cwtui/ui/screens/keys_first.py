"""AppKeysFirst: the app's own keys (? help, ^q quit) lead the footer, so a narrow terminal never cuts them off."""

from __future__ import annotations

from textual.screen import Screen


class AppKeysFirst(Screen):
    """Mix in before Screen: reorders `active_bindings` (what Footer draws, left to right); nothing else changes."""

    @property
    def active_bindings(self):  # type: ignore[override]
        bindings = super().active_bindings
        first = {key: active for key, active in bindings.items() if active.node is self.app}
        return {**first, **{key: active for key, active in bindings.items() if key not in first}}
