"""Widgets of the TUI, named after what the user sees."""
