"""``/t.js``: served by the app, small, cacheable."""

import gzip

from ingestion.tracker import SCRIPT

MAX_GZIPPED_BYTES = 5 * 1024


def test_tracker_is_small_when_gzipped():
    assert len(gzip.compress(SCRIPT.read_bytes(), compresslevel=9)) <= MAX_GZIPPED_BYTES


def test_tracker_is_served_gzipped_with_caching_headers(client):
    response = client.get("/t.js", HTTP_ACCEPT_ENCODING="gzip, br")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Content-Encoding"] == "gzip"
    assert len(response.content) <= MAX_GZIPPED_BYTES
    assert gzip.decompress(response.content) == SCRIPT.read_bytes()
    assert "max-age=" in response["Cache-Control"] and "public" in response["Cache-Control"]
    assert response["Vary"] == "Accept-Encoding"
    again = client.get("/t.js", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_tracker_plain_for_clients_without_gzip(client):
    response = client.get("/t.js")
    assert response.content == SCRIPT.read_bytes()
    assert "Content-Encoding" not in response
