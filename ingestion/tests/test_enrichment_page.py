"""enrich(): page, referrer, UTM, channel and spam flag (ingestion/enrichment/page.py, channels.py)."""

from __future__ import annotations

from typing import Any

import pytest

from ingestion.enrichment import WEB_COLUMNS, ClientInfo, cache_stats, clear_caches, client_info, enrich
from ingestion.enrichment.channels import channel

NOBODY = ClientInfo(None, None, None, None, None, None, None, None, False)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)


def fields(properties: Any, client: ClientInfo = NOBODY) -> dict[str, Any]:
    values, spam = enrich(client, properties)
    assert len(values) == len(WEB_COLUMNS) == 17
    return {**dict(zip(WEB_COLUMNS, values, strict=True)), "spam": spam}


def test_columns_are_the_contract() -> None:
    assert WEB_COLUMNS[:8] == ("browser", "browser_version", "os", "os_version", "device_type", "country", "region",
                               "city")  # fmt: skip
    assert WEB_COLUMNS[8:] == ("host", "pathname", "referrer_host", "utm_source", "utm_medium", "utm_campaign",
                               "utm_content", "utm_term", "channel")  # fmt: skip


def test_a_posthog_pageview() -> None:
    client = client_info("193.0.6.139", IPHONE)
    got = fields(
        {
            "$current_url": "https://Shop.Example.com/pricing/plans?utm_source=Newsletter&utm_medium=email"
            "&utm_campaign=spring+sale&utm_content=hero%20button&utm_term=analytics#top",
            "$referrer": "https://mail.google.com/mail/u/0/",
        },
        client,
    )
    assert got == {
        "browser": "Safari",
        "browser_version": "17",
        "os": "iOS",
        "os_version": "17",
        "device_type": "mobile",
        "country": "NL",
        "region": None,
        "city": None,
        "host": "shop.example.com",
        "pathname": "/pricing/plans",
        "referrer_host": "mail.google.com",
        "utm_source": "Newsletter",
        "utm_medium": "email",
        "utm_campaign": "spring sale",
        "utm_content": "hero button",
        "utm_term": "analytics",
        "channel": "Email",
        "spam": False,
    }


@pytest.mark.parametrize(
    ("properties", "host", "pathname"),
    [
        ({"$current_url": "https://example.com"}, "example.com", "/"),
        ({"url": "https://example.com/docs/"}, "example.com", "/docs/"),
        ({"$current_url": None, "url": "https://example.com/b"}, "example.com", "/b"),
        ({"$context": {"page": {"url": "https://a.example.org/x?y=1", "path": "/ignored"}}}, "a.example.org", "/x"),
        ({"$context": {"page": {"path": "/pricing"}}}, None, "/pricing"),
        ({"$current_url": "http://[2001:db8::1]:8080/p"}, "2001:db8::1", "/p"),
        ({"$current_url": "https://bücher.example/ä"}, "bücher.example", "/ä"),
        ({"$current_url": "http://localhost:8000/a/b"}, "localhost", "/a/b"),
    ],
)
def test_page(properties: dict, host: str | None, pathname: str) -> None:
    got = fields(properties)
    assert (got["host"], got["pathname"]) == (host, pathname)


@pytest.mark.parametrize(
    ("referrer", "host"),
    [
        ("https://www.google.com/", "google.com"),
        ("https://WWW.Bing.com/search?q=x", "bing.com"),
        ("https://news.ycombinator.com/item?id=1", "news.ycombinator.com"),
        ("android-app://com.google.android.gm/", "com.google.android.gm"),
        ("google.com", "google.com"),  # a bare host, as some SDKs send it
        ("$direct", None),
        ("", None),
        ("https://example.com/previous", None),  # internal navigation
        ("https://www.example.com/previous", None),
        ("https://blog.example.com/post", "blog.example.com"),  # another site of the same owner
        ("http://[::1", None),
        ("%zz", None),
        ("https://exa mple.com/", None),
        (42, None),
    ],
)
def test_referrer_host(referrer: Any, host: str | None) -> None:
    assert fields({"$current_url": "https://example.com/", "$referrer": referrer})["referrer_host"] == host


@pytest.mark.parametrize(
    ("url", "referrer", "expected"),
    [
        # Direct
        ("https://example.com/", None, "Direct"),
        ("https://example.com/", "$direct", "Direct"),
        ("https://example.com/", "https://example.com/a", "Direct"),
        ("https://example.com/?utm_source=(direct)", None, "Direct"),
        # Search engines, organic and paid
        ("https://example.com/", "https://www.google.com/", "Organic Search"),
        ("https://example.com/", "https://www.google.co.uk/", "Organic Search"),
        ("https://example.com/", "https://www.bing.com/", "Organic Search"),
        ("https://example.com/", "https://duckduckgo.com/", "Organic Search"),
        ("https://example.com/", "https://search.yahoo.com/", "Organic Search"),
        ("https://example.com/", "https://yandex.ru/search/", "Organic Search"),
        ("https://example.com/", "https://www.baidu.com/", "Organic Search"),
        ("https://example.com/", "https://www.ecosia.org/", "Organic Search"),
        ("https://example.com/", "https://www.qwant.com/", "Organic Search"),
        ("https://example.com/", "https://www.startpage.com/", "Organic Search"),
        ("https://example.com/", "https://search.naver.com/", "Organic Search"),
        ("https://example.com/", "https://search.brave.com/", "Organic Search"),
        ("https://example.com/?gclid=Cj0KCQ", "https://www.google.com/", "Paid Search"),
        ("https://example.com/?gclid=Cj0KCQ", None, "Paid Search"),  # an app's webview: no referrer
        ("https://example.com/?msclkid=abc", "https://www.bing.com/", "Paid Search"),
        ("https://example.com/?utm_source=google&utm_medium=cpc", None, "Paid Search"),
        ("https://example.com/?utm_source=bing&utm_medium=ppc", None, "Paid Search"),
        ("https://example.com/?utm_medium=organic", None, "Organic Search"),
        # Social networks
        ("https://example.com/", "https://t.co/abc", "Organic Social"),
        ("https://example.com/", "https://x.com/someone", "Organic Social"),
        ("https://example.com/", "https://l.facebook.com/", "Organic Social"),
        ("https://example.com/", "https://www.instagram.com/", "Organic Social"),
        ("https://example.com/", "https://www.linkedin.com/", "Organic Social"),
        ("https://example.com/", "https://old.reddit.com/r/x", "Organic Social"),
        ("https://example.com/", "https://www.pinterest.com/", "Organic Social"),
        ("https://example.com/", "https://www.tiktok.com/", "Organic Social"),
        ("https://example.com/", "https://mastodon.social/@a", "Organic Social"),
        ("https://example.com/", "https://fosstodon.org/@a", "Organic Social"),
        ("https://example.com/", "https://bsky.app/", "Organic Social"),
        ("https://example.com/", "https://news.ycombinator.com/", "Organic Social"),
        ("https://example.com/?fbclid=IwAR0", None, "Organic Social"),  # fbclid is on organic links too
        ("https://example.com/?utm_source=fb&utm_medium=paid_social", None, "Paid Social"),
        ("https://example.com/?utm_source=facebook&utm_medium=cpc", "https://l.facebook.com/", "Paid Social"),
        ("https://example.com/?utm_source=linkedin&utm_medium=paid", None, "Paid Social"),
        ("https://example.com/?ttclid=E.C.P", None, "Paid Social"),
        ("https://example.com/?utm_source=newsletter&utm_medium=social", None, "Organic Social"),
        # Video
        ("https://example.com/", "https://www.youtube.com/", "Organic Video"),
        ("https://example.com/", "https://youtu.be/", "Organic Video"),
        ("https://example.com/", "https://vimeo.com/", "Organic Video"),
        ("https://example.com/?utm_source=youtube&utm_medium=cpv", None, "Paid Video"),
        ("https://example.com/?utm_medium=video", None, "Organic Video"),
        # Shopping
        ("https://example.com/", "https://www.amazon.de/", "Organic Shopping"),
        ("https://example.com/?utm_campaign=black-friday-shop", None, "Organic Shopping"),
        ("https://example.com/?utm_source=ebay&utm_medium=cpc", None, "Paid Shopping"),
        ("https://example.com/?utm_source=google&utm_medium=cpc&utm_campaign=shopping_q4", None, "Paid Shopping"),
        # Email
        ("https://example.com/", "https://mail.google.com/", "Email"),
        ("https://example.com/", "https://outlook.live.com/", "Email"),
        ("https://example.com/", "https://mail.yahoo.com/", "Email"),
        ("https://example.com/", "android-app://com.google.android.gm", "Email"),
        ("https://example.com/?utm_source=newsletter&utm_medium=email", None, "Email"),
        ("https://example.com/?utm_source=e-mail", None, "Email"),
        # Display, affiliates, other paid
        ("https://example.com/?utm_source=network&utm_medium=display", None, "Display"),
        ("https://example.com/?utm_source=network&utm_medium=banner", None, "Display"),
        ("https://example.com/?utm_source=partner&utm_medium=affiliate", None, "Affiliates"),
        ("https://example.com/?utm_source=podcast&utm_medium=paid", None, "Paid Other"),
        ("https://example.com/?utm_source=network&utm_medium=retargeting", None, "Paid Other"),
        # Referral and the rest
        ("https://example.com/", "https://blog.example.org/post", "Referral"),
        ("https://example.com/?utm_source=partner&utm_medium=referral", None, "Referral"),
        ("https://example.com/?utm_campaign=launch", None, "Unassigned"),
        ("https://example.com/?utm_source=partner&utm_medium=qr", None, "Unassigned"),
    ],
)
def test_channel(url: str, referrer: str | None, expected: str) -> None:
    assert fields({"$current_url": url, "$referrer": referrer})["channel"] == expected


def test_channel_rule_order() -> None:
    # Paid search beats display (cpm is both paid and display); a shop campaign beats the search source.
    assert channel("google", "cpm", None) == "Paid Search"
    assert channel("adnetwork", "cpm", None) == "Display"
    assert channel("google", "cpc", "summer-shop") == "Paid Shopping"
    assert channel(None, None, None) == "Direct"
    assert channel("GOOGLE", "CPC", None) == "Paid Search"


def test_utm_from_properties_when_the_url_has_none() -> None:
    got = fields(
        {
            "$current_url": "https://example.com/landing",
            "utm_source": " google ",
            "utm_medium": "cpc",
            "utm_campaign": 2026,
            "utm_term": "",
            "utm_content": None,
        }
    )
    assert (got["utm_source"], got["utm_medium"], got["utm_campaign"], got["utm_term"], got["utm_content"]) == (
        "google",
        "cpc",
        "2026",
        None,
        None,
    )
    assert got["channel"] == "Paid Search"


def test_an_event_without_a_page_has_no_channel() -> None:
    # A server-side event: no URL, no referrer, no campaign. Not "Direct", which is a pageview's.
    assert fields({"plan": "pro"})["channel"] is None
    assert fields({"utm_source": "newsletter", "utm_medium": "email"})["channel"] == "Email"
    assert fields({"$referrer": "https://www.google.com/"})["channel"] == "Organic Search"


def test_the_urls_utm_wins_over_properties() -> None:
    got = fields({"$current_url": "https://example.com/?utm_source=bing", "utm_source": "google", "utm_medium": "cpc"})
    assert (got["utm_source"], got["utm_medium"], got["channel"]) == ("bing", "cpc", "Paid Search")


def test_segment_context_campaign() -> None:
    got = fields(
        {
            "$context": {
                "page": {"url": "https://example.com/p", "referrer": "https://www.facebook.com/"},
                "campaign": {"source": "facebook", "medium": "paid_social", "name": "q4"},
            }
        }
    )
    assert (got["host"], got["referrer_host"], got["utm_source"], got["utm_campaign"]) == (
        "example.com",
        "facebook.com",
        "facebook",
        "q4",
    )
    assert got["channel"] == "Paid Social"


def test_utm_values_are_trimmed_capped_and_first_wins() -> None:
    got = fields({"$current_url": "https://example.com/?utm_source=%20a%20&utm_source=b&utm_medium=" + "m" * 500})
    assert got["utm_source"] == "a"
    assert got["utm_medium"] == "m" * 200
    got = fields({"$current_url": "https://example.com/?utm_source=&utm_medium=%20%20"})
    assert got["utm_source"] is None and got["utm_medium"] is None


@pytest.mark.parametrize(
    ("referrer", "spam"),
    [
        ("https://semalt.com/", True),
        ("http://www.semalt.com/page", True),
        ("https://forum.semalt.com/x", True),  # a parent domain is listed
        ("https://darodar.com/", True),
        ("https://xn--80aaygkdefq0n.xn--80aanaardaperhcem4a6i.com/", True),  # listed in Unicode, sent as punycode
        ("https://notsemalt.com/", False),
        ("https://www.google.com/", False),
        (None, False),
    ],
)
def test_spam_referrers(referrer: str | None, spam: bool) -> None:
    assert fields({"$current_url": "https://example.com/", "$referrer": referrer})["spam"] is spam


@pytest.mark.parametrize(
    "properties",
    [
        None,
        {},
        [],
        "a string",
        {"$current_url": 5, "$referrer": ["x"]},
        {"$current_url": "http://[::1"},
        {"$current_url": "%zz"},
        {"$current_url": "example.com/no-scheme"},
        {"$current_url": "https://example.com:99999/"},
        {"$current_url": "https://" + "a" * 10_000 + ".com/"},
        {"$current_url": "https://example.com/" + "p" * 10_000, "$referrer": "https://r.com/" + "q" * 10_000},
        {"$current_url": "https://example.com/?" + "&".join(f"k{i}=v" for i in range(1000))},
        {"$context": "not a dict"},
        {"$context": {"page": ["not", "a", "dict"], "campaign": 7}},
        {"$current_url": "\x00\ud800"},
    ],
)
def test_malformed_input_gives_none_fields(properties: Any) -> None:
    got = fields(properties)
    assert got["spam"] is False
    assert got["channel"] in {None, "Direct", "Unassigned", "Referral"}
    assert got["host"] is None or len(got["host"]) <= 253
    assert got["pathname"] is None or len(got["pathname"]) <= 2048


def test_malformed_url_has_no_page_fields() -> None:
    for url in ("http://[::1", "%zz", "example.com/no-scheme", "https://" + "a" * 10_000 + ".com/"):
        got = fields({"$current_url": url})
        assert got["host"] is None and got["pathname"] is None and got["channel"] is None, url[:40]
    assert fields({"$current_url": "http://[::1"})["pathname"] is None


def test_sdk_device_fields_win() -> None:
    client = client_info(None, IPHONE)
    got = fields(
        {
            "$browser": "Safari",
            "$browser_version": 17.5,
            "$os": "Mac OS X",
            "$os_version": "14.6.1",
            "$device_type": "Tablet",
        },
        client,
    )
    assert (got["browser"], got["browser_version"], got["os"], got["os_version"], got["device_type"]) == (
        "Safari",
        "17",
        "Mac OS X",
        "14",
        "tablet",
    )
    got = fields({"$device_type": "Console", "$browser": ["no"], "$browser_version": True, "$os": ""}, client)
    assert (got["device_type"], got["browser"], got["browser_version"], got["os"]) == (
        "other",
        "Safari",
        "17",
        "iOS",
    )


def test_a_bot_stays_a_bot() -> None:
    bot = client_info(None, "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")
    assert fields({"$device_type": "Desktop"}, bot)["device_type"] == "bot"


def test_the_page_cache_parses_each_pair_once() -> None:
    clear_caches()
    properties = {"$current_url": "https://example.com/a?utm_source=x", "$referrer": "https://www.google.com/"}
    for _ in range(5):
        enrich(NOBODY, dict(properties))
    stats = cache_stats()["page"]
    assert (stats["misses"], stats["hits"]) == (1, 4)


def test_values_decoded_from_the_url_are_storable() -> None:
    # "%00" decodes to NUL, which PostgreSQL's text refuses; a raw surrogate cannot be UTF-8.
    got = fields({"$current_url": "https://example.com/a\ud800b?utm_source=news%00letter&utm_medium=%00"})
    assert got["utm_source"] == "newsletter" and got["utm_medium"] is None
    assert got["pathname"] == "/a?b"
    got = fields({"$current_url": "https://example.com/", "utm_campaign": "spring\ud800", "$browser": "Chro\x00me"})
    assert got["utm_campaign"] == "spring?" and got["browser"] == "Chrome"
