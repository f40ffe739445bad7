"""Reads of the files package."""
