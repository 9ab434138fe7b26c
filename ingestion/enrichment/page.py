"""The page of an event: host, pathname, referrer host, UTM values, channel, spam referrer.

Everything here is derived from two strings, the page URL and the referrer, so one cached function
(``page_fields``) parses each distinct pair once: a site's traffic is a few thousand pairs, and a
cache hit costs a dict lookup where ``urlsplit`` and ``parse_qsl`` cost a few microseconds each.
Nothing raises: a URL ``urlsplit`` refuses (``http://[::1``) gives None fields.
"""

from __future__ import annotations

import contextlib
import re
from functools import lru_cache
from importlib import resources
from urllib.parse import parse_qsl, urlsplit

from ingestion.enrichment.channels import ORGANIC_CLICK_IDS, PAID_CLICK_IDS, channel

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
# Past these, a value is someone's garbage, not a campaign or a path: cap what a column stores.
MAX_VALUE = 200
MAX_PATH = 2048
MAX_HOST = 253  # DNS's limit
_HOST = re.compile(r"[\w.:-]*[^\W_][\w.:-]*")
# URLs longer than this are parsed every time rather than cached, so a flood of huge unique URLs
# cannot hold much in the cache: at worst 10,000 entries of two 2 KB keys and a 2 KB path (~60 MB),
# typically well under 1 KB an entry (~5 MB).
MAX_CACHED_URL = 2048
# Distinct (page URL, referrer) pairs: a site's pages times its referrers in the last while.
PAGE_CACHE_SIZE = 10_000

# (host, pathname, referrer_host, utm_source, utm_medium, utm_campaign, utm_content, utm_term,
#  channel, is_spam_referrer, paid click id's source, organic click id's source): the last two let
# enrich() work the channel out again when the UTM values come from properties instead of the URL.
PageFields = tuple[
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    bool,
    str | None,
    str | None,
]


def _load_spam_hosts() -> frozenset[str]:
    """The vendored list (data/referrer_spam.txt), with IDN hosts also in their punycode form:
    browsers send a referrer's host as ``xn--…``, the list spells some in Unicode."""
    text = resources.files("ingestion.enrichment").joinpath("data/referrer_spam.txt").read_text("utf-8")
    hosts: set[str] = set()
    for line in text.splitlines():
        host = line.strip().lower()
        if not host or host.startswith("#"):
            continue
        hosts.add(host)
        if not host.isascii():
            # A label the IDNA 2003 codec refuses keeps its Unicode spelling only.
            with contextlib.suppress(UnicodeError):
                hosts.add(host.encode("idna").decode("ascii"))
    return frozenset(hosts)


SPAM_HOSTS = _load_spam_hosts()


def is_spam_host(host: str) -> bool:
    """The host or one of its parent domains is on the spam list."""
    if host in SPAM_HOSTS:
        return True
    dot = host.find(".")
    while dot != -1:
        host = host[dot + 1 :]
        if host in SPAM_HOSTS:
            return True
        dot = host.find(".")
    return False


def storable(text: str) -> str:
    """Text PostgreSQL accepts: no NUL (a decoded "%00"), no unpaired surrogate (UTF-8 cannot encode
    one). Validation refuses such properties, but a value decoded here from a URL never met it."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def clean(value: object, limit: int = MAX_VALUE) -> str | None:
    """A stored text value: strings and numbers only, trimmed, capped, storable, empty → None."""
    if type(value) is str or isinstance(value, str):
        text = value.strip()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        text = str(value)
    else:
        return None
    return storable(text[:limit]).strip() or None


def _hostname(raw: str | None) -> str | None:
    """A lower-cased host fit to store, or None: letters (IDN too), digits, "._-" and IPv6's ":"."""
    if not raw or len(raw) > MAX_HOST or _HOST.fullmatch(raw) is None:
        return None
    return raw


def _split(url: str) -> tuple[str | None, str | None, str]:
    """(host, path, query) of a URL; a path alone ("/pricing") has no host, and what is neither a
    URL nor an absolute path ("http://[::1", "%zz", "example.com/x") has no host and no path."""
    try:
        parts = urlsplit(url)
        host = _hostname(parts.hostname)  # lower-cased by urllib
    except ValueError:  # "http://[::1", an invalid port or IPv6 literal
        return None, None, ""
    path = parts.path
    if host is None and (parts.netloc or not path.startswith("/")):  # a host we refused, or no path
        return None, None, ""
    return host, storable((path or "/")[:MAX_PATH]), parts.query


def _bare(host: str) -> str:
    return host[4:] if host.startswith("www.") else host


def _referrer_host(referrer: str | None, page_host: str | None) -> str | None:
    """The referrer's host without "www.", or None: no referrer, "$direct", or the page's own site."""
    if not referrer or referrer == "$direct":
        return None
    if "://" not in referrer and not referrer.startswith("//"):
        referrer = "//" + referrer  # "google.com" (some SDKs send a bare host) is a host, not a path
    host, _, _ = _split(referrer)
    if host is None:
        return None
    host = _bare(host)
    if page_host is not None and host == _bare(page_host):
        return None  # internal navigation: the visit's source is its entry page's referrer
    return host


def _parse(url: str | None, referrer: str | None) -> PageFields:
    host: str | None = None
    pathname: str | None = None
    utm: dict[str, str | None] = dict.fromkeys(UTM_KEYS)
    paid_source: str | None = None
    organic_source: str | None = None
    if url:
        host, pathname, query = _split(url)
        if query:
            try:
                pairs = parse_qsl(query, max_num_fields=200)
            except ValueError:  # more fields than that: a query this odd carries no campaign
                pairs = []
            for key, value in pairs:
                lowered = key.lower()
                if lowered in utm:
                    if utm[lowered] is None:  # the first of repeated keys, as browsers' URLSearchParams.get
                        utm[lowered] = clean(value)
                elif lowered in PAID_CLICK_IDS:
                    paid_source = paid_source or PAID_CLICK_IDS[lowered]
                elif lowered in ORGANIC_CLICK_IDS:
                    organic_source = ORGANIC_CLICK_IDS[lowered]
    referrer_host = _referrer_host(referrer, host)
    spam = referrer_host is not None and is_spam_host(referrer_host)
    channel_: str | None = None
    # No page, no referrer, no campaign: a server-side event (or an unreadable URL) has no channel;
    # calling it Direct would swell Direct with every backend event.
    if pathname is not None or referrer_host is not None or any(utm.values()) or paid_source or organic_source:
        channel_ = page_channel(utm["utm_source"], utm["utm_medium"], utm["utm_campaign"], referrer_host,
                                paid_source, organic_source)  # fmt: skip
    return (
        host,
        pathname,
        referrer_host,
        utm["utm_source"],
        utm["utm_medium"],
        utm["utm_campaign"],
        utm["utm_content"],
        utm["utm_term"],
        channel_,
        spam,
        paid_source,
        organic_source,
    )  # fmt: skip


def page_channel(
    utm_source: str | None,
    utm_medium: str | None,
    utm_campaign: str | None,
    referrer_host: str | None,
    paid_source: str | None = None,
    organic_source: str | None = None,
) -> str:
    """Source and medium as the channel table (channels.py) defines them, then the channel."""
    source = utm_source or referrer_host or paid_source or organic_source
    medium = utm_medium
    if medium is None:
        if paid_source is not None:
            medium = "cpc"
        elif referrer_host is not None:
            medium = "referral"
    return channel(source, medium, utm_campaign)


_cached_parse = lru_cache(maxsize=PAGE_CACHE_SIZE)(_parse)


def page_fields(url: str | None, referrer: str | None) -> PageFields:
    """The page's derived fields; cached per (url, referrer) unless either is huge."""
    if (url is not None and len(url) > MAX_CACHED_URL) or (referrer is not None and len(referrer) > MAX_CACHED_URL):
        return _parse(url, referrer)
    return _cached_parse(url, referrer)
