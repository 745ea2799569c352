"""camvault: a self-hosted parts data management service for CNC/CAM shops."""

__version__ = "0.1.0"
