"""Kubernetes operator that pauses DRS (Data Replication Service) tasks declaratively."""

__version__ = "0.1.0"
