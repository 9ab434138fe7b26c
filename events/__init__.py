"""The event store below ingestion and analytics: the partitions of ``events`` and the markers of
days whose raw events changed. Ingestion and persons write through it; analytics reads it.
"""
