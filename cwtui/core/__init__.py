"""The headless core: client, matching, planner, apply, journal and config. Nothing here imports textual."""
