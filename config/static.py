"""Static files served by the web process itself (see ``WHITENOISE_USE_FINDERS`` in settings)."""

from __future__ import annotations

import os

from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise that adds ``STATIC_ROOT`` only once ``collectstatic`` has created it.

    Files are found through the static finders anyway; stock WhiteNoise would warn about the
    missing folder on every start of a fresh checkout (and fail the suite, where warnings are
    errors) although nothing is missing.
    """

    def add_files(self, root: str, prefix: str | None = None) -> None:
        is_static_root = bool(self.static_root) and os.path.abspath(root) == os.path.abspath(self.static_root)
        if is_static_root and not os.path.isdir(root):
            return
        super().add_files(root, prefix)
