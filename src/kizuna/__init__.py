"""Kizuna: an open coalition space-intelligence platform.

The flow is one way: sources -> formats -> store -> analyses -> products -> share.
See docs/architecture.md.
"""

__version__ = "0.1.0"
