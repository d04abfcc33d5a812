"""The simulation engine: the day loop, strategies' interface, results."""

from taxsim.engine.run import Result, SimulationError, Strategy, TwinCache, simulate

__all__ = ["Result", "SimulationError", "Strategy", "TwinCache", "simulate"]
