"""CI Sizer client: the typed SDK and the ``cisizer`` command line."""

__version__ = "0.1.0"
