"""Ingestion and data preparation service."""
