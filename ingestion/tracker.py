"""``GET /t.js``: the first-party web tracker, served by the product itself (no CDN, no build step).

The script is small and read once per process; it is served pre-gzipped when the browser accepts
it, with an ETag so a revalidation costs a 304. The URL is not versioned (people paste it into
their pages), so the cache lifetime is short and revalidation is cheap.
"""

from __future__ import annotations

import gzip
import hashlib
from functools import cache
from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

SCRIPT = Path(__file__).resolve().parent / "static" / "ingestion" / "t.js"
MAX_AGE_SECONDS = 3600


@cache
def _script() -> tuple[bytes, bytes, str]:
    plain = SCRIPT.read_bytes()
    return plain, gzip.compress(plain, compresslevel=9, mtime=0), f'"{hashlib.sha256(plain).hexdigest()[:20]}"'


@require_GET
def tracker_js(request: HttpRequest) -> HttpResponse:
    plain, zipped, etag = _script()
    if etag in request.headers.get("If-None-Match", ""):
        response = HttpResponse(status=304)
    elif "gzip" in request.headers.get("Accept-Encoding", ""):
        response = HttpResponse(zipped, content_type="application/javascript; charset=utf-8")
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(plain, content_type="application/javascript; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = f"public, max-age={MAX_AGE_SECONDS}, stale-while-revalidate=86400"
    response["Vary"] = "Accept-Encoding"
    response["Access-Control-Allow-Origin"] = "*"
    return response
