"""Plots and maps (matplotlib) and rich tables: presentation only, imported by the CLI and demos."""
