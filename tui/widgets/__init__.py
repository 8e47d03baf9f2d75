"""Widgets and formatting shared by several screens."""
