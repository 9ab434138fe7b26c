"""Reads behind the reporting API, one module per report; ``common`` holds what several share.

Every function takes the project explicitly (tenant scoping). Each module's docstring says which
engine answers its report and why (measured by bench/query_bench.py; see docs/ARCHITECTURE.md,
"Query engine"). The benchmark's comparison engines live in bench/engines.py.
"""
