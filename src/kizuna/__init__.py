"""Kizuna: an open coalition space-intelligence platform.

The flow is one way: sources -> formats -> store -> analyses -> products -> share.
See docs/architecture.md.
"""

from importlib.metadata import PackageNotFoundError, version


def _version() -> str:
    """The version in pyproject.toml (its one home), as installed; read from the file in a source tree."""
    try:
        return version("kizuna")
    except PackageNotFoundError:  # run from a checkout without `pip install -e .`
        import tomllib
        from pathlib import Path

        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        try:
            return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "0+unknown"


__version__ = _version()
