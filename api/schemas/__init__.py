"""The HTTP response schemas (``*Public``), one module per area; command schemas (what the
services take) are in ``billing.control_plane.commands``."""
