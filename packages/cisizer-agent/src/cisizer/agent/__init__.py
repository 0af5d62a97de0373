"""CI Sizer agent: samples a CI job's containers and pushes one summary."""

__version__ = "0.1.0"
