"""Who sent a request: browser, OS and device from the user agent, country (and optionally region and
city) from the IP. Both are cached, per distinct user agent and per IP, because the parsers cost
tens to hundreds of microseconds and a site sees far fewer distinct values than requests.

Device type, first rule that matches (ua-parser names the device and OS; the rest reads the UA):

| device_type | rule |
|---|---|
| None | no user agent (missing, empty, not a string) |
| bot | crawlerdetect calls it a crawler, or ua-parser's device family is ``Spider``, unless it is an HTTP library's |
| other | TVs, set-top boxes and consoles (``SmartTV``, ``HbbTV``, ``CrKey``, ``PlayStation``, ``Xbox``, …) |
| tablet | device ``iPad``/``Kindle``/"…Tablet…"; Android without ``Mobile`` (tablets' browsers drop it) |
| mobile | Android with ``Mobile``; iOS (iPhone, iPod); Windows Phone, KaiOS, …; any other UA with ``Mobi`` |
| desktop | Windows, macOS, Linux, Chrome OS and the BSDs |
| other | anything else (an unknown UA, a library that is not a known crawler) |

HTTP libraries (``python-requests``, ``curl``, ``okhttp``, ``Dart``, ``Go-http-client``, ``Java``, …) are
on the crawler lists, but they are also how server-side and mobile SDKs send events (okhttp is
every Android app's, Dart every Flutter app's): an event sent with one is a real event, never a
bot's. A crawler that runs a page's scripts (where the web tracker's events come from) shows a
browser-like or self-declared crawler user agent, which the lists catch.

An iPad whose Safari asks for the desktop site sends a Mac UA and counts as desktop: the UA cannot
tell them apart (posthog-js's own ``$device_type``, which wins when sent, can).
"""

from __future__ import annotations

import ipaddress
import os
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import iptocc
import maxminddb
from crawlerdetect.crawlerdetect import get_compiled_crawler_regex, get_compiled_exclusions_regex
from django.core.exceptions import ImproperlyConfigured
from ua_parser import Domain, Resolver, load_lazy_builtins

from ingestion.enrichment.page import storable

UA_CACHE_SIZE = 10_000
IP_CACHE_SIZE = 50_000
# Per (IP, user agent): a hit skips building the frozen dataclass, which costs more than both
# lookups together (a request is one visitor, who usually sends several).
CLIENT_CACHE_SIZE = 20_000
# Real user agents are under 400 characters; past this only the head is parsed, which bounds both
# the regexes' time and what the cache's keys hold.
MAX_UA = 512
MAX_IP = 64  # the longest IPv6 text with a zone id is well under this


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Per request: from the user agent and the IP."""

    browser: str | None
    browser_version: str | None  # major only, e.g. "131"
    os: str | None
    os_version: str | None  # major only, as ua-parser gives it ("17" for iOS 17.5, "10" for Windows 10)
    device_type: str | None  # "desktop" | "mobile" | "tablet" | "bot" | "other"; None when no UA
    country: str | None  # ISO-3166 alpha-2, upper case
    region: str | None  # only with GEOIP_DATABASE
    city: str | None  # only with GEOIP_DATABASE
    is_bot: bool


UaFields = tuple[str | None, str | None, str | None, str | None, str | None, bool]
IpFields = tuple[str | None, str | None, str | None]
NO_UA: UaFields = (None, None, None, None, None, False)
NO_IP: IpFields = (None, None, None)
NOBODY = ClientInfo(None, None, None, None, None, None, None, None, False)

# --- User agent ---------------------------------------------------------------------------------

_resolver: Resolver | None = None
_resolver_lock = threading.Lock()


def _ua_resolver() -> Resolver:
    """ua-parser's Rust resolver (ua-parser-rs) over its compiled rules (ua-parser-builtins).

    Built on first use, not at import: loading the rules takes half a second or more, which management
    commands and most tests that import ingestion never need. ua-parser's own global parser would
    pick the same resolver (its ``BestAvailableResolver`` prefers ua_parser_rs), but adds its own
    cache in front of ours; building it here says which resolver runs and caches once.
    """
    global _resolver
    if _resolver is None:
        with _resolver_lock:
            if _resolver is None:
                from ua_parser.regex import Resolver as RustResolver  # imports ua_parser_rs: fails loudly if absent

                _resolver = RustResolver(load_lazy_builtins())
    return _resolver


# The first product token of an HTTP client library's user agent (``name/version …``), lower case.
_HTTP_LIBRARIES = frozenset(
    {
        "python-requests", "python-urllib", "python-httpx", "httpx", "aiohttp", "urllib3", "curl", "libcurl",
        "wget", "go-http-client", "okhttp", "dart", "java", "apache-httpclient", "jersey", "axios", "node-fetch",
        "undici", "got", "superagent", "node", "deno", "bun", "ruby", "faraday", "httparty", "guzzlehttp",
        "php", "dalvik", "cfnetwork", "alamofire", "postmanruntime", "insomnia", "reqwest", "hyper",
        "rest-client", "restsharp", "dotnet", "http.rb", "elixir", "hackney", "mint", "finch",
    }
)  # fmt: skip
_PRODUCT = re.compile(r"^\s*([A-Za-z][\w.\-]*)")


def _http_library(ua: str) -> bool:
    match = _PRODUCT.match(ua)
    return match is not None and match.group(1).lower() in _HTTP_LIBRARIES


def _is_crawler(ua: str) -> bool:
    """crawlerdetect's check, without its ``CrawlerDetect`` object: that keeps the last match on
    the instance (not thread-safe) and its own cache, and ours already sits in front."""
    agent = get_compiled_exclusions_regex().sub("", ua)
    return bool(agent) and get_compiled_crawler_regex().search(agent) is not None


_NOT_PERSONAL = re.compile(
    r"smart-?tv|hbbtv|appletv|googletv|android tv|crkey|web0s|netcast|bravia|roku|(?-i:\bAFT[A-Z])|\btv\b"
    r"|playstation|xbox|nintendo",
    re.IGNORECASE,
)
_TABLET_DEVICES = frozenset({"iPad", "Kindle", "Generic Tablet"})
_PHONE_OSES = frozenset({"iOS", "Windows Phone", "KaiOS", "BlackBerry OS", "Firefox OS", "Symbian OS", "Sailfish"})
_DESKTOP_OSES = frozenset(
    {
        "Windows", "Mac OS X", "Linux", "Ubuntu", "Chrome OS", "Fedora", "Debian", "Red Hat", "SUSE",
        "Linux Mint", "Arch Linux", "Gentoo", "Slackware", "Mandriva", "CentOS", "FreeBSD", "OpenBSD",
        "NetBSD", "Solaris", "Windows RT",
    }
)  # fmt: skip


def _major(version: str | None) -> str | None:
    if not version:
        return None
    return storable(version.split(".", 1)[0].split("_", 1)[0].strip()[:32]) or None


def _device_type(ua: str, os_family: str | None, device_family: str | None, device_brand: str | None) -> str:
    if _NOT_PERSONAL.search(ua):
        return "other"
    if device_family in _TABLET_DEVICES or (device_brand or "").endswith("Tablet") or "Tablet" in (device_family or ""):
        return "tablet"
    if os_family == "Android":
        return "mobile" if "Mobile" in ua else "tablet"
    if os_family in _PHONE_OSES or device_family in ("iPhone", "iPod"):
        return "mobile"
    if "Mobi" in ua:
        return "mobile"
    if os_family in _DESKTOP_OSES:
        return "desktop"
    return "other"


# A browser is counted by its brand, as Plausible lists browsers: the mobile and desktop builds of
# one browser are one row (the device is the devices list's business), and posthog-js's names for
# them (sent as $browser) are the same rows as the user agent's.
_BROWSER_BRANDS = {
    "Chrome Mobile": "Chrome",
    "Chrome Mobile iOS": "Chrome",
    "Chrome Mobile WebView": "Chrome",
    "Chrome iOS": "Chrome",  # posthog-js
    "Mobile Safari": "Safari",
    "Mobile Safari UI/WKWebView": "Safari",
    "Firefox Mobile": "Firefox",
    "Firefox iOS": "Firefox",
    "Edge Mobile": "Edge",
    "Microsoft Edge": "Edge",  # posthog-js
    "Opera Mobile": "Opera",
    "Internet Explorer": "IE",  # posthog-js; ua-parser says IE
}


def browser_brand(name: str | None) -> str | None:
    """The brand a browser is counted under (``Mobile Safari`` → ``Safari``)."""
    return _BROWSER_BRANDS.get(name, name) if name else name


def _family(name: str | None) -> str | None:
    """A family name ua-parser matched, fit to store ("Other" is its "no match")."""
    if not name or name == "Other":
        return None
    return storable(name.strip()[:64]) or None


@lru_cache(maxsize=UA_CACHE_SIZE)
def ua_fields(ua: str) -> UaFields:
    """(browser, browser_version, os, os_version, device_type, is_bot) of a non-empty user agent."""
    try:
        result = _ua_resolver()(ua, Domain.ALL)
    except UnicodeEncodeError:  # an unpaired surrogate: the Rust side takes UTF-8 only
        return ua_fields.__wrapped__(storable(ua))
    except Exception:  # the parser's own bug on some odd string must not lose the event
        return (None, None, None, None, "other", not _http_library(ua) and _is_crawler(ua))
    agent, os_, device = result.user_agent, result.os, result.device
    browser = browser_brand(_family(agent.family)) if agent is not None else None
    os_family = _family(os_.family) if os_ is not None else None
    device_family = device.family if device is not None else None
    # crawlerdetect costs ~0.3-1 ms: skip it when ua-parser already knows a spider.
    # HTTP libraries carry server-side and mobile SDKs' events: never bots (see the table above).
    is_bot = not _http_library(ua) and (device_family == "Spider" or _is_crawler(ua))
    return (
        browser,
        _major(agent.major) if browser is not None and agent is not None else None,
        os_family,
        _major(os_.major) if os_family is not None and os_ is not None else None,
        "bot" if is_bot else _device_type(ua, os_family, device_family, device.brand if device else None),
        is_bot,
    )


# --- IP -----------------------------------------------------------------------------------------

_geo_lock = threading.Lock()
# (the path it was opened for, the reader or None when that path failed): a path that failed at run
# time (geoip_check raises at start-up instead) is not retried on every lookup.
_geo: tuple[str, maxminddb.Reader | None] | None = None


def geoip_path() -> str:
    """GEOIP_DATABASE from settings.EVENTBASE, or from the environment when Django is not set up."""
    try:
        from django.conf import settings

        if settings.configured:
            return str(settings.EVENTBASE.get("GEOIP_DATABASE") or "")
    except Exception:  # settings that fail to load are reported by Django itself
        pass
    return os.environ.get("GEOIP_DATABASE", "")


def _open_geoip(path: str) -> maxminddb.Reader:
    """Open the file or raise ImproperlyConfigured with one line: the path and what to do."""
    hint = "download a MaxMind-format city database (e.g. GeoLite2-City.mmdb) there, or unset GEOIP_DATABASE"
    if not os.path.isfile(path):
        raise ImproperlyConfigured(f"GEOIP_DATABASE={path!r} does not exist or is not a file: {hint}.")
    try:
        return maxminddb.open_database(path)
    except (OSError, ValueError) as exc:  # InvalidDatabaseError is a RuntimeError subclass in some versions
        raise ImproperlyConfigured(f"GEOIP_DATABASE={path!r} cannot be read ({exc}): {hint}.") from None
    except Exception as exc:
        raise ImproperlyConfigured(
            f"GEOIP_DATABASE={path!r} is not a MaxMind-format database ({type(exc).__name__}): {hint}."
        ) from None


def geoip_check() -> None:
    """At start-up: a GEOIP_DATABASE that is set must open, else ImproperlyConfigured (one line)."""
    global _geo
    path = geoip_path()
    if not path:
        return
    reader = _open_geoip(path)
    with _geo_lock:
        old, _geo = _geo, (path, reader)
    if old is not None and old[1] is not None:
        old[1].close()
    ip_fields.cache_clear()  # entries cached without (or with another) database are stale
    _client.cache_clear()


def _geo_reader() -> maxminddb.Reader | None:
    global _geo
    path = geoip_path()
    if not path:
        return None
    current = _geo
    if current is not None and current[0] == path:
        return current[1]
    with _geo_lock:
        if _geo is None or _geo[0] != path:
            try:
                _geo = (path, _open_geoip(path))
            except ImproperlyConfigured:
                _geo = (path, None)  # start-up's check reports it; lookups go on with the country only
        return _geo[1]


def _name(node: Any) -> str | None:
    """The English name of a MaxMind record's node ({"names": {"en": ...}})."""
    names = node.get("names") if isinstance(node, dict) else None
    name = names.get("en") if isinstance(names, dict) else None
    if not isinstance(name, str):
        return None
    return storable(name.strip()[:200]) or None


def _geo_fields(reader: maxminddb.Reader, ip: str) -> IpFields:
    record = reader.get(ip)
    if not isinstance(record, dict):
        return NO_IP
    country_node = record.get("country")
    iso = country_node.get("iso_code") if isinstance(country_node, dict) else None
    country = iso.upper() if isinstance(iso, str) and len(iso) == 2 and iso.isalpha() else None
    subdivisions = record.get("subdivisions")
    region = _name(subdivisions[0]) if isinstance(subdivisions, list) and subdivisions else None
    return country, region, _name(record.get("city"))


@lru_cache(maxsize=IP_CACHE_SIZE)
def ip_fields(ip: str) -> IpFields:
    """(country, region, city) of an IP text; None fields for private, loopback and invalid IPs."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return NO_IP
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # "::ffff:8.8.8.8" from a dual-stack socket is that IPv4 client
    if not address.is_global:
        return NO_IP
    text = str(address)
    try:
        country = iptocc.country_code(text)
    except Exception:  # a native library's surprise on one address must not lose the event
        country = None
    region = city = None
    reader = _geo_reader()
    if reader is not None:
        try:
            geo_country, region, city = _geo_fields(reader, text)
        except Exception:  # a corrupt record in the operator's file
            geo_country = None
        # The operator's database knows where an address is used, iptocc where it is registered;
        # and its region and city must agree with its own country.
        country = geo_country or country
    return (country.upper() if isinstance(country, str) and country else None), region, city


@lru_cache(maxsize=CLIENT_CACHE_SIZE)
def _client(ip: str | None, ua: str) -> ClientInfo:
    u = ua_fields(ua) if ua else NO_UA
    g = ip_fields(ip) if ip and len(ip) <= MAX_IP else NO_IP
    return ClientInfo(u[0], u[1], u[2], u[3], u[4], g[0], g[1], g[2], u[5])


def client_info(ip: str | None, user_agent: str | None) -> ClientInfo:
    """Browser, OS, device and place of one request; never raises (bad input gives None fields)."""
    try:
        ua = user_agent.strip()[:MAX_UA] if isinstance(user_agent, str) else ""
        return _client(ip if isinstance(ip, str) else None, ua)
    except Exception:
        return NOBODY


def warm_up() -> None:
    """Build the user-agent parser and compile crawlerdetect's patterns now (about a second) rather
    than in the first request of a process; optional, for a worker's start-up."""
    # A real user agent: the Rust regexes build their automata lazily, on the first strings matched.
    ua_fields.__wrapped__(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36"
    )
    ip_fields.__wrapped__("8.8.8.8")  # opens GEOIP_DATABASE when set


def clear_caches() -> None:
    """Forget cached user agents and IPs, and the GeoIP reader (it is opened again for the path
    configured then): for tests and for benches that measure the uncached cost."""
    global _geo
    _geo = None  # not closed: a thread may still be reading it; the garbage collector closes it
    ua_fields.cache_clear()
    ip_fields.cache_clear()
    _client.cache_clear()
