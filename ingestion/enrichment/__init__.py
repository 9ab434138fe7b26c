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
from functools import lru_cache
from typing import Any

from events.models import WEB_COLUMNS
from ingestion.enrichment import channels
from ingestion.enrichment.client import (
    ClientInfo,
    _client,
    browser_brand,
    client_info,
    geoip_check,
    ip_fields,
    ua_fields,
    warm_up,
)
from ingestion.enrichment.client import clear_caches as _clear_client_caches
from ingestion.enrichment.page import UTM_KEYS, _cached_parse, clean, page_channel, page_fields

__all__ = [
    "HOST",
    "WEB_COLUMNS",
    "ClientInfo",
    "cache_stats",
    "clear_caches",
    "client_info",
    "enrich",
    "flagged_as_bot",
    "geoip_check",
    "warm_up",
]

HOST = WEB_COLUMNS.index("host")
_DEVICE_TYPE = WEB_COLUMNS.index("device_type")

_EMPTY: Mapping[str, Any] = {}
SdkFields = tuple[str | None, str | None, str | None, str | None, str | None]
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


_NO_SDK = (None, None, None, None, None)


# Cached: one site's SDK sends a handful of distinct (browser, version, OS, version, device) values,
# on every event. typed=True keeps True apart from 1 (clean() refuses booleans, not integers).
@lru_cache(maxsize=4096, typed=True)
def _sdk_fields(browser: Any, browser_version: Any, os_: Any, os_version: Any, device_type: Any) -> SdkFields:
    """posthog-js's $browser, $browser_version, $os, $os_version, $device_type, normalised."""
    return (
        browser_brand(clean(browser, 64)),
        _major(browser_version),
        clean(os_, 64),
        _major(os_version),
        _device(device_type),
    )


def _mapping(value: Any) -> Mapping[str, Any] | None:
    # `type(...) is dict` first: JSON gives dicts, and an ABC isinstance check costs ten times more.
    return value if type(value) is dict or isinstance(value, Mapping) else None


def _enrich(client: ClientInfo, properties: Mapping[str, Any] | None) -> tuple[tuple[str | None, ...], bool]:
    props = _mapping(properties) or _EMPTY
    url = props.get("$current_url")
    if type(url) is not str or not url:
        url = props.get("url")
        if type(url) is not str or not url:
            url = None
    referrer = props.get("$referrer")
    if type(referrer) is not str or not referrer:
        referrer = props.get("referrer")
        if type(referrer) is not str or not referrer:
            referrer = None
    context = props.get("$context")  # Segment's context, kept under "$context" by its adapter
    if context is not None:
        context = _mapping(context)
        page = _mapping(context.get("page")) if context is not None else None
        if page is not None:
            url = url or _text(page.get("url")) or _text(page.get("path"))
            referrer = referrer or _text(page.get("referrer"))
    (host, pathname, referrer_host, source, medium, campaign, content, term, channel, spam, paid, organic) = (
        page_fields(url, referrer)
    )
    if (source is None or medium is None or campaign is None or content is None or term is None) and (
        context is not None
        or "utm_source" in props
        or "utm_medium" in props
        or "utm_campaign" in props
        or "utm_content" in props
        or "utm_term" in props
    ):
        # The URL lacked some UTM value: an SDK may have sent it as a property (utm_source, ...) or in
        # Segment's context.campaign. The URL's own values win where both exist.
        utm = [source, medium, campaign, content, term]
        campaign_ctx = _mapping(context.get("campaign")) if context is not None else None
        changed = False
        for i, key in enumerate(UTM_KEYS):
            if utm[i] is None:
                value = props.get(key)
                if value is None and campaign_ctx is not None:
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
    sdk = (
        props.get("$browser"),
        props.get("$browser_version"),
        props.get("$os"),
        props.get("$os_version"),
        props.get("$device_type"),
    )
    if sdk != _NO_SDK:
        try:
            sdk_browser, sdk_version, sdk_os, sdk_os_version, sdk_device = _sdk_fields(*sdk)
        except TypeError:  # an unhashable value (a list, a dict): normalise without the cache
            sdk_browser, sdk_version, sdk_os, sdk_os_version, sdk_device = _sdk_fields.__wrapped__(*sdk)
        browser = sdk_browser or browser
        browser_version = sdk_version or browser_version
        os_ = sdk_os or os_
        os_version = sdk_os_version or os_version
        if not client.is_bot:
            device_type = sdk_device or device_type
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


def flagged_as_bot(values: tuple[str | None, ...]) -> tuple[str | None, ...]:
    """An event's values with ``device_type`` "bot": a crawler's or spam referrer's, kept flagged."""
    return (*values[:_DEVICE_TYPE], "bot", *values[_DEVICE_TYPE + 1 :])


def _info(function: Any) -> dict[str, int]:
    info = function.cache_info()
    return {"hits": info.hits, "misses": info.misses, "size": info.currsize, "maxsize": info.maxsize or 0}


def cache_stats() -> dict[str, dict[str, int]]:
    """Hits, misses, size and bound of each cache, for the ingest bench's hit rates."""
    return {
        "client": _info(_client),
        "user_agent": _info(ua_fields),
        "ip": _info(ip_fields),
        "page": _info(_cached_parse),
        "source": _info(channels.source_kind),
        "sdk": _info(_sdk_fields),
    }


def clear_caches() -> None:
    """Empty every cache (tests, and benches that measure the uncached cost)."""
    _clear_client_caches()
    _cached_parse.cache_clear()
    channels.source_kind.cache_clear()
    _sdk_fields.cache_clear()
