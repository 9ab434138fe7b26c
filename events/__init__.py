"""The event store below ingestion and analytics: the ``events`` table and its partitions, the
writer that stores each row once, and the markers of days whose raw events changed. Ingestion
and persons write through it; analytics reads it.
"""
