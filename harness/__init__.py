"""Regression tests for ecommerce support agents: a KB or prompt change ships only if it
fixes what it targets and breaks nothing else."""

__version__ = "0.1.0"
