"""The platform layer every app builds on: the Redis client, typed environment readers, day
boundaries, the management-command base, store checks and the supervisor's state file.

Named ``core`` rather than ``platform``: a top-level package of that name would shadow the
standard library's ``platform`` module for everything run from the project folder.
"""
