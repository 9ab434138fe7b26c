"""client_info(): real user agents and real public IPs (ingestion/enrichment/client.py).

The IPs are well-known resolvers and registries' own hosts, whose RIR delegation has not moved in
years; each country below was checked with iptocc 3.3.170 before being written down.
"""

from __future__ import annotations

import pytest

from ingestion.enrichment import ClientInfo, cache_stats, clear_caches, client_info
from ingestion.enrichment.client import MAX_UA

CHROME_WIN = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
FIREFOX_WIN = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15"
)
EDGE_WIN = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
    "Safari/537.36 Edg/131.0.0.0"
)
CHROME_OS = (
    "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
IPHONE_CHROME = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
ANDROID_PIXEL = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.6778.81 Mobile Safari/537.36"
)
# Chrome's reduced user agent: the model is "K" and the Android version frozen at 10.
ANDROID_REDUCED = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
)
SAMSUNG_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Safari/537.36"
)
FIREFOX_ANDROID_TABLET = "Mozilla/5.0 (Android 14; Tablet; rv:133.0) Gecko/133.0 Firefox/133.0"
KINDLE = (
    "Mozilla/5.0 (Linux; Android 11; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/131.2.1 "
    "like Chrome/131.0.6778.85 Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
GOOGLEBOT_SMARTPHONE = (
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.6778.69 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
)
BINGBOT = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"
GPTBOT = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)"
HEADLESS_CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36"
)
XBOX = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox One) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edge/44.18363.8131"
)


@pytest.mark.parametrize(
    ("ua", "expected"),
    [
        (CHROME_WIN, ("Chrome", "131", "Windows", "10", "desktop")),
        (FIREFOX_LINUX, ("Firefox", "133", "Linux", None, "desktop")),
        (FIREFOX_WIN, ("Firefox", "133", "Windows", "10", "desktop")),
        (SAFARI_MAC, ("Safari", "18", "Mac OS X", "10", "desktop")),
        (EDGE_WIN, ("Edge", "131", "Windows", "10", "desktop")),
        (CHROME_OS, ("Chrome", "131", "Chrome OS", "14541", "desktop")),
        (IPHONE_SAFARI, ("Safari", "17", "iOS", "17", "mobile")),
        (IPHONE_CHROME, ("Chrome", "131", "iOS", "18", "mobile")),
        (IPAD, ("Safari", "17", "iOS", "17", "tablet")),
        (ANDROID_PIXEL, ("Chrome", "131", "Android", "14", "mobile")),
        (ANDROID_REDUCED, ("Chrome", "131", "Android", "10", "mobile")),
        (SAMSUNG_PHONE, ("Samsung Internet", "26", "Android", "14", "mobile")),
        (ANDROID_TABLET, ("Chrome", "131", "Android", "13", "tablet")),
        (FIREFOX_ANDROID_TABLET, ("Firefox", "133", "Android", "14", "tablet")),
        (KINDLE, ("Amazon Silk", "131", "Android", "11", "tablet")),
        (XBOX, ("Edge", "44", "Windows", "10", "other")),
    ],
)
def test_browsers_and_devices(ua: str, expected: tuple) -> None:
    info = client_info(None, ua)
    assert (info.browser, info.browser_version, info.os, info.os_version, info.device_type) == expected
    assert info.is_bot is False


@pytest.mark.parametrize(
    ("ua", "browser"),
    [
        (GOOGLEBOT, "Googlebot"),
        (GOOGLEBOT_SMARTPHONE, "Googlebot"),
        (BINGBOT, "bingbot"),
        (GPTBOT, "GPTBot"),
        ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "FacebookBot"),
        # Headless browsers are crawlers to crawlerdetect: a site's own end-to-end tests count as bots.
        (HEADLESS_CHROME, "HeadlessChrome"),
    ],
)
def test_bots(ua: str, browser: str) -> None:
    info = client_info("8.8.8.8", ua)
    assert info.is_bot is True
    assert info.device_type == "bot"
    assert info.browser == browser
    assert info.country == "US"


@pytest.mark.parametrize(
    "ua",
    [
        "curl/8.5.0",
        "python-requests/2.32.3",
        "Python-urllib/3.11",  # ua-parser's Spider
        "Java/17.0.2",  # ua-parser's Spider
        "okhttp/4.12.0",  # Android apps
        "Dart/3.2 (dart:io)",  # Flutter apps
        "Go-http-client/1.1",
        "axios/1.7.2",
        "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
        "posthog-python/3.7.0",
        "analytics-python/2.3.2",
    ],
)
def test_http_libraries_carry_sdks_events_and_are_not_bots(ua: str) -> None:
    """They are on the crawler lists, but server-side and mobile SDKs send real events with them."""
    info = client_info("8.8.8.8", ua)
    assert info.is_bot is False
    assert info.device_type == "other"


@pytest.mark.parametrize("ua", [None, "", "   ", 42, b"curl/8.5.0", ["x"]])
def test_no_user_agent(ua: object) -> None:
    assert client_info(None, ua) == ClientInfo(None, None, None, None, None, None, None, None, False)  # type: ignore[arg-type]


@pytest.mark.parametrize("ua", ["\x00\xff;;;(((", "Mozilla/5.0 (", "ü" * 50, ")(" * 5000, "a" * 10_000])
def test_garbage_user_agent_is_other(ua: str) -> None:
    info = client_info(None, ua)
    assert info.device_type in {"other", "bot"}
    assert info.browser is None or len(info.browser) < 100


@pytest.mark.parametrize(
    ("ip", "country"),
    [
        # North America
        ("8.8.8.8", "US"),  # Google Public DNS
        ("2001:4860:4860::8888", "US"),
        ("208.67.222.222", "US"),  # OpenDNS
        ("2620:119:35::35", "US"),
        # Europe
        ("193.0.6.139", "NL"),  # RIPE NCC
        ("2001:67c:2e8:22::c100:68b", "NL"),
        ("77.88.8.8", "RU"),  # Yandex DNS
        ("2a02:6b8::feed:0ff", "RU"),
        # Asia
        ("202.12.27.33", "JP"),  # M root, WIDE
        ("2001:dc3::35", "JP"),
        ("114.114.114.114", "CN"),
        ("2400:3200::1", "CN"),  # AliDNS
        ("168.126.63.1", "KR"),  # KT
        ("101.101.101.101", "TW"),  # TWNIC
        ("2001:de4::101", "TW"),
        # South and Central America
        ("200.160.2.3", "BR"),  # registro.br
        ("2001:12ff:0:4::3", "BR"),
        ("200.40.30.245", "UY"),
        ("190.93.240.1", "CR"),
        # Africa
        ("196.216.2.1", "ZA"),  # AFRINIC
        ("2001:43f8:120::1", "ZA"),
        ("41.231.53.2", "TN"),
        ("197.149.150.5", "AO"),
        # Oceania
        ("1.1.1.1", "AU"),  # APNIC's research prefix, registered in Australia
        ("139.130.4.5", "AU"),  # Telstra
        ("2001:dd8:8:701::2", "AU"),  # APNIC
        # An IPv4 client seen through a dual-stack socket
        ("::ffff:8.8.8.8", "US"),
        (" 8.8.8.8 ", "US"),
    ],
)
def test_country(ip: str, country: str) -> None:
    info = client_info(ip, None)
    assert info.country == country
    assert info.region is None and info.city is None  # no GEOIP_DATABASE in the test settings
    assert info.device_type is None


@pytest.mark.parametrize(
    "ip",
    [
        "10.0.0.1",
        "192.168.1.1",
        "172.16.5.4",
        "100.64.0.1",  # carrier-grade NAT
        "127.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "169.254.1.1",
        "0.0.0.0",
        "2001:db8::1",  # documentation
        "::ffff:10.0.0.1",
        "",
        "garbage",
        "1.2.3",
        "256.1.1.1",
        "8.8.8.8:443",
        "[::1]",
        "x" * 10_000,
        None,
        42,
        b"8.8.8.8",
    ],
)
def test_no_country(ip: object) -> None:
    assert client_info(ip, None).country is None  # type: ignore[arg-type]


def test_caches_count_hits_and_misses() -> None:
    clear_caches()
    for _ in range(3):
        client_info("8.8.8.8", CHROME_WIN)
    client_info("1.1.1.1", "  " + CHROME_WIN + " ")  # the same user agent once trimmed
    client_info("1.1.1.1", FIREFOX_WIN)
    stats = cache_stats()
    # Per (IP, user agent) first; the user agent and the IP are each parsed once all the same.
    assert (stats["client"]["misses"], stats["client"]["hits"]) == (3, 2)
    assert (stats["user_agent"]["misses"], stats["user_agent"]["hits"]) == (2, 1)
    assert (stats["ip"]["misses"], stats["ip"]["hits"]) == (2, 1)
    assert stats["user_agent"]["maxsize"] > 0 and set(stats) >= {"user_agent", "ip", "page"}


def test_long_user_agents_share_their_head() -> None:
    clear_caches()
    padded = CHROME_WIN + " " + "z" * MAX_UA
    assert client_info(None, padded + "x").browser == client_info(None, padded + "y").browser == "Chrome"
    assert cache_stats()["user_agent"]["size"] == 1


def test_an_unpaired_surrogate_does_not_hide_the_browser() -> None:
    # ua-parser's Rust side takes UTF-8 only: the user agent is made storable and parsed again.
    info = client_info(None, IPHONE_SAFARI + " \ud800")
    assert (info.browser, info.os, info.device_type) == ("Safari", "iOS", "mobile")


@pytest.mark.parametrize(
    "ua",
    [
        XBOX,
        "Mozilla/5.0 (Linux; Android 12; BRAVIA 4K VH2 Build/STT1.211025.001.Z4) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Linux; Android 9; AFTMM Build/PS7633; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Version/4.0 Chrome/131.0.0.0 Mobile Safari/537.36",  # Fire TV stick
        "Mozilla/5.0 (PlayStation; PlayStation 5/8.40) AppleWebKit/605.1.15 (KHTML, like Gecko)",
        "Mozilla/5.0 (SMART-TV; LINUX; Tizen 7.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/7.0 Chrome/108.0.5359.1 TV Safari/537.36",
    ],
)
def test_tvs_and_consoles_are_other(ua: str) -> None:
    assert client_info(None, ua).device_type == "other"


@pytest.mark.parametrize(
    ("sdk_browser", "ua", "brand"),
    [
        ("Microsoft Edge", EDGE_WIN, "Edge"),
        ("Mobile Safari", IPHONE_SAFARI, "Safari"),
        ("Chrome iOS", IPHONE_CHROME, "Chrome"),
        ("Firefox iOS", "", "Firefox"),
    ],
)
def test_a_browser_is_its_brand_whether_the_sdk_or_the_user_agent_names_it(sdk_browser, ua, brand) -> None:
    """posthog-js's $browser and the user agent's family land in the same row of the browsers list."""
    from ingestion.enrichment import enrich

    from_sdk, _ = enrich(client_info(None, None), {"$browser": sdk_browser})
    assert from_sdk[0] == brand
    if ua:
        assert client_info(None, ua).browser == brand
