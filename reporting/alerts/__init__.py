"""Alerts on saved insights, email subscriptions, and the delivery log they both notify through."""
