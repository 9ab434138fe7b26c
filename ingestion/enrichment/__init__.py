"""Web enrichment: the columns of ``events`` derived from a request's user agent and IP and from an
event's page URL, referrer and UTM values (docs/ARCHITECTURE.md, "Web enrichment").

Two calls in the capture path, both pure (no I/O once warm), cached and never raising:

- ``client_info(ip, user_agent)`` once per request: browser, OS, device, bot flag, country (and
  region and city with ``GEOIP_DATABASE``); cached per user agent and per IP (client.py);
- ``enrich(client, properties)`` once per event: the 17 ``WEB_COLUMNS`` values and whether the
  referrer is a known spammer; the page part is cached per (URL, referrer) (page.py, channels.py).

SDK-sent ``$browser``, ``$browser_version``, ``$os``, ``$os_version`` and ``$device_type``
(posthog-js sends them, computed in the browser) win over the user agent's: versions are cut to the
major, the device type lower-cased and mapped onto desktop/mobile/tablet/other. A request whose user
agent is a bot keeps ``device_type`` "bot" whatever the SDK says, so that bot filtering and the
device breakdown agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ingestion.enrichment import channels
from ingestion.enrichment.client import ClientInfo, client_info, geoip_check, ip_fields, ua_fields
from ingestion.enrichment.client import clear_caches as _clear_client_caches
from ingestion.enrichment.page import UTM_KEYS, _cached_parse, clean, page_channel, page_fields

__all__ = ["WEB_COLUMNS", "ClientInfo", "cache_stats", "clear_caches", "client_info", "enrich", "geoip_check"]

WEB_COLUMNS = (
    "browser",
    "browser_version",
    "os",
    "os_version",
    "device_type",
    "country",
    "region",
    "city",
    "host",
    "pathname",
    "referrer_host",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "channel",
)

_EMPTY: Mapping[str, Any] = {}
_DEVICE_TYPES = frozenset({"desktop", "mobile", "tablet"})
# Segment's context.campaign names the campaign "name"; the rest match utm_*'s suffixes.
_SEGMENT_CAMPAIGN = ("source", "medium", "name", "content", "term")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _major(value: Any) -> str | None:
    """An SDK's version ("131.0.6778", 17.5, 131) as its major ("131", "17")."""
    text = clean(value, 64)
    if text is None:
        return None
    return text.split(".", 1)[0].split("_", 1)[0].strip() or None


def _device(value: Any) -> str | None:
    text = clean(value, 32)
    if text is None:
        return None
    text = text.lower()
    return text if text in _DEVICE_TYPES else "other"  # posthog-js also says "Console", "Wearable", "TV"


def _enrich(client: ClientInfo, properties: Mapping[str, Any] | None) -> tuple[tuple[str | None, ...], bool]:
    props = properties if isinstance(properties, Mapping) else _EMPTY
    url = _text(props.get("$current_url")) or _text(props.get("url"))
    referrer = _text(props.get("$referrer")) or _text(props.get("referrer"))
    context = props.get("$context")  # Segment's context, kept under "$context" by its adapter
    page = context.get("page") if isinstance(context, Mapping) else None
    if isinstance(page, Mapping):
        url = url or _text(page.get("url")) or _text(page.get("path"))
        referrer = referrer or _text(page.get("referrer"))
    (host, pathname, referrer_host, source, medium, campaign, content, term, channel, spam, paid, organic) = (
        page_fields(url, referrer)
    )
    if source is None or medium is None or campaign is None or content is None or term is None:
        # The URL lacked some UTM value: an SDK may have sent it as a property (utm_source, ...) or in
        # Segment's context.campaign. The URL's own values win where both exist.
        utm = [source, medium, campaign, content, term]
        campaign_ctx = context.get("campaign") if isinstance(context, Mapping) else None
        changed = False
        for i, key in enumerate(UTM_KEYS):
            if utm[i] is None:
                value = props.get(key)
                if value is None and isinstance(campaign_ctx, Mapping):
                    value = campaign_ctx.get(_SEGMENT_CAMPAIGN[i])
                if value is not None and (cleaned := clean(value)) is not None:
                    utm[i] = cleaned
                    changed = True
        if changed:
            source, medium, campaign, content, term = utm
            channel = page_channel(source, medium, campaign, referrer_host, paid, organic)

    browser, browser_version, os_, os_version, device_type = (
        client.browser,
        client.browser_version,
        client.os,
        client.os_version,
        client.device_type,
    )
    # posthog-js's own values: it runs in the browser and knows better than the UA (an iPad asking
    # for the desktop site, Client Hints' real Windows version).
    if (value := props.get("$browser")) is not None and (text := clean(value, 64)) is not None:
        browser = text
    if (value := props.get("$browser_version")) is not None and (text := _major(value)) is not None:
        browser_version = text
    if (value := props.get("$os")) is not None and (text := clean(value, 64)) is not None:
        os_ = text
    if (value := props.get("$os_version")) is not None and (text := _major(value)) is not None:
        os_version = text
    if not client.is_bot and (value := props.get("$device_type")) is not None and (text := _device(value)):
        device_type = text
    values = (
        browser,
        browser_version,
        os_,
        os_version,
        device_type,
        client.country,
        client.region,
        client.city,
        host,
        pathname,
        referrer_host,
        source,
        medium,
        campaign,
        content,
        term,
        channel,
    )
    return values, spam


def enrich(client: ClientInfo, properties: Mapping[str, Any] | None) -> tuple[tuple[str | None, ...], bool]:
    """(the 17 values in WEB_COLUMNS order, is_spam_referrer) of one event; never raises."""
    try:
        return _enrich(client, properties)
    except Exception:
        # Belt and braces (the tests fuzz _enrich itself): an event is never lost to enrichment.
        try:
            known = (client.browser, client.browser_version, client.os, client.os_version, client.device_type,
                     client.country, client.region, client.city)  # fmt: skip
        except Exception:
            known = (None,) * 8
        return (*known, *(None,) * 9), False


def _info(function: Any) -> dict[str, int]:
    info = function.cache_info()
    return {"hits": info.hits, "misses": info.misses, "size": info.currsize, "maxsize": info.maxsize or 0}


def cache_stats() -> dict[str, dict[str, int]]:
    """Hits, misses, size and bound of each cache, for the ingest bench's hit rates."""
    return {
        "user_agent": _info(ua_fields),
        "ip": _info(ip_fields),
        "page": _info(_cached_parse),
        "source": _info(channels.source_kind),
    }


def clear_caches() -> None:
    """Empty every cache (tests, and benches that measure the uncached cost)."""
    _clear_client_caches()
    _cached_parse.cache_clear()
    channels.source_kind.cache_clear()
