"""CI Sizer receiver: stores job summaries and answers KPIs, energy and sizing."""

__version__ = "0.1.0"
