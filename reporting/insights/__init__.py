"""Saved insights: which reports can be saved (kinds), their date ranges, and running them."""
