"""Screens and modals of the TUI."""
