"""The event store below ingestion and analytics: the ``events`` table and its partitions, the
writer that stores each row once, the markers of days whose raw events changed, and the DuckDB
connection that reads the table. Ingestion and persons write through it; analytics and reporting
read it.
"""
