"""The simulation engine: the day loop, strategies' interface, results."""

from taxsim.engine.run import Result, SimulationError, Strategy, simulate

__all__ = ["Result", "SimulationError", "Strategy", "simulate"]
