"""Property-based: enrichment never raises, whatever a client sends.

The public functions catch everything as a last resort, so these tests drive the inner functions,
where a bug would otherwise hide behind that guard.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ingestion.enrichment import WEB_COLUMNS, ClientInfo, _enrich, client_info
from ingestion.enrichment.client import MAX_UA, ip_fields, ua_fields
from ingestion.enrichment.page import page_fields

KEYS = [
    "$current_url", "url", "$referrer", "referrer", "$context", "page", "path", "campaign", "source", "name",
    "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term",
    "$browser", "$browser_version", "$os", "$os_version", "$device_type",
]  # fmt: skip
URL_PARTS = [
    "http://", "https://", "//", "android-app://", "[", "]", "::1", "www.", "example.com", "google.com", "t.co",
    ":", ":99999", "/", "?", "&", "=", "#", "%", "%zz", "%20", "utm_source", "utm_medium", "utm_campaign",
    "gclid", "fbclid", "msclkid", "cpc", "email", "semalt.com", "\x00", "\ud800", "ü", " ", "@", "\\", "$direct",
]  # fmt: skip

# Characters as a JSON decoder may give them: unpaired surrogates and NUL included.
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=8)
url_like = st.lists(st.sampled_from(URL_PARTS) | any_text | st.sampled_from(["%00", "\x00"]), max_size=12).map("".join)
scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30) | url_like
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(KEYS), children, max_size=5),
    max_leaves=12,
)
properties = st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=10), values, max_size=10)
clients = st.builds(
    ClientInfo,
    *[st.none() | st.text(max_size=10)] * 8,
    is_bot=st.booleans(),
)


@given(clients, properties | values)
def test_enrich_never_raises(client: ClientInfo, props: Any) -> None:
    row, spam = _enrich(client, props)
    assert len(row) == len(WEB_COLUMNS)
    # What enrich derives itself (not the client's fields, which are made up here) PostgreSQL must take.
    assert all(value is None or storable_text(value) for value in row[8:])
    assert isinstance(spam, bool)


@given(url_like | st.none(), url_like | st.none())
def test_page_fields_never_raise(url: str | None, referrer: str | None) -> None:
    fields = page_fields(url, referrer)
    assert fields[8] is not None or fields[1] is None  # a page always has a channel
    assert all(value is None or storable_text(value) for value in fields[:9])


@given(st.text(st.characters(exclude_categories=()), min_size=1, max_size=MAX_UA))
def test_user_agent_parsing_never_raises(ua: str) -> None:
    *names, device_type, is_bot = ua_fields(ua)
    assert all(value is None or storable_text(value) for value in names)
    assert device_type in {"desktop", "mobile", "tablet", "bot", "other"}
    assert is_bot == (device_type == "bot")


def storable_text(value: str) -> bool:
    """What a text column of PostgreSQL accepts: no NUL, valid UTF-8."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return isinstance(value, str) and "\x00" not in value


@given(st.text(max_size=64) | st.ip_addresses().map(str))
def test_ip_lookup_never_raises(ip: str) -> None:
    country, _region, _city = ip_fields(ip)
    assert country is None or (len(country) == 2 and country.isupper())


@given(st.none() | st.text(max_size=80) | st.integers(), st.none() | st.text(max_size=600) | st.binary(max_size=8))
def test_client_info_never_raises(ip: Any, ua: Any) -> None:
    assert isinstance(client_info(ip, ua), ClientInfo)
