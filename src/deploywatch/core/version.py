"""The package version, for ``--version`` and User-Agent strings (re-exported as ``deploywatch.__version__``)."""

__version__ = "0.1.0"
