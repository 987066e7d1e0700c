"""A Jellyfin look-alike served over real HTTP on loopback, for tests, the demo and the benchmarks."""

from cwtui.emulator.server import Emulator, Faults, RequestRecord
from cwtui.emulator.state import EmulatorState

__all__ = ["Emulator", "EmulatorState", "Faults", "RequestRecord"]
