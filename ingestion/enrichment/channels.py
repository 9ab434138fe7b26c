"""The channel of an event: Google Analytics 4's default channel grouping, as a rule table.

GA4 is the reference most users know, so its names and rules are kept; where the event-level view
here differs from GA's session-level one, the table says so. The inputs are the page's UTM values,
the referrer's host and any ad click id in the page URL:

- **source** = ``utm_source``, else the referrer's host, else the source an ad click id implies
  (``gclid`` → google), else none;
- **medium** = ``utm_medium``, else ``cpc`` when the URL carries a paid click id, else ``referral``
  when there is a referrer, else none;
- **campaign** = ``utm_campaign``.

Source, medium and campaign are compared lower-cased. "Source is search" means the source, read as a
host, is or ends with a listed domain, or has a listed brand as one of its labels (``google`` matches
``www.google.co.uk``, ``google``, ``news.google.com``), or equals a listed bare name (``fb``, ``ig``).
The first matching rule wins:

| # | channel | rule |
|---|---|---|
| 1 | Direct | no source, no medium, no campaign (no UTM, no referrer, no click id); or source ``(direct)`` |
| 2 | Paid Shopping | (source is shopping, or campaign matches ``(^|[^a-df-z])shop|shopping``) and medium is paid |
| 3 | Paid Search | source is search and medium is paid |
| 4 | Paid Social | source is social and medium is paid |
| 5 | Paid Video | source is video and medium is paid |
| 6 | Display | medium is ``display``, ``banner``, ``expandable``, ``interstitial`` or ``cpm`` |
| 7 | Paid Other | medium is paid |
| 8 | Organic Shopping | source is shopping, or campaign matches the shop pattern |
| 9 | Organic Social | source is social, or medium is ``social``, ``social-network``, ``social-media``, ``sm``, … |
| 10 | Organic Video | source is video, or medium contains ``video`` |
| 11 | Organic Search | source is search, or medium is ``organic`` |
| 12 | Email | source or medium is ``email``, ``e-mail``, ``e_mail``, ``e mail``, or source is a webmail host |
| 13 | Affiliates | medium is ``affiliate`` |
| 14 | Referral | medium is ``referral``, ``app`` or ``link`` |
| 15 | Unassigned | anything else (e.g. a ``utm_campaign`` alone, or a medium no rule knows) |

"Medium is paid" is GA's ``^(.*cp.*|ppc|retargeting|paid.*)$``. Two deliberate differences from
GA4: Email is tried before Referral, because without UTM a webmail referrer (``mail.google.com``)
has medium ``referral`` here and is email all the same; and GA4's Audio, SMS, Mobile Push
Notifications and Cross-network are not separate channels (they fall in Unassigned). ``fbclid`` does
**not** mean paid: Facebook appends it to every outbound link, organic posts included; it only names
facebook as the source when the in-app browser sent no referrer. The paid click ids are those of
ads only (``gclid``, ``gbraid``, ``wbraid``, ``dclid``, ``msclkid``, ``ttclid``, ``twclid``,
``li_fat_id``). An event with no readable page URL, no referrer and no campaign (a server-side
event) gets no channel at all (page.py), not Direct.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Brands are matched as a label of the host (any TLD, any subdomain); domains as the host or a
# parent of it. Brands must be distinctive words: "x" or "t" would match far too much, so X and
# Twitter's short-link host are listed as domains.
SEARCH_BRANDS = frozenset(
    {
        "google", "bing", "duckduckgo", "yahoo", "yandex", "baidu", "ecosia", "qwant", "startpage",
        "naver", "seznam", "sogou", "daum", "ask", "aol", "dogpile", "kagi", "mojeek", "perplexity",
    }
)  # fmt: skip
SEARCH_DOMAINS = frozenset(
    {
        "search.brave.com", "so.com", "360.cn", "search.yahoo.co.jp", "yandex.ru", "ya.ru", "msn.com",
        "chatgpt.com", "you.com", "com.google.android.googlequicksearchbox",
    }
)  # fmt: skip
SOCIAL_BRANDS = frozenset(
    {
        "facebook", "instagram", "twitter", "linkedin", "reddit", "pinterest", "tiktok", "snapchat",
        "tumblr", "quora", "weibo", "whatsapp", "telegram", "discord", "mastodon", "mstdn", "threads",
        "bluesky", "vkontakte", "xing", "douban", "line", "kakao", "meetup", "medium", "substack",
    }
)  # fmt: skip
SOCIAL_DOMAINS = frozenset(
    {
        "t.co", "x.com", "fb.com", "fb.me", "m.me", "lnkd.in", "redd.it", "pin.it", "t.me", "vk.com",
        "ok.ru", "bsky.app", "threads.net", "news.ycombinator.com", "lobste.rs", "producthunt.com",
        "mastodon.social", "mastodon.online", "mas.to", "fosstodon.org", "hachyderm.io",
        "infosec.exchange", "techhub.social", "universeodon.com", "chaos.social", "mstdn.jp",
        "mastodon.world", "social.vivaldi.net", "com.twitter.android", "com.facebook.katana",
        "com.linkedin.android", "com.reddit.frontpage", "com.instagram.android",
    }
)  # fmt: skip
# Bare names that campaigns put in utm_source for a social network.
SOCIAL_NAMES = frozenset({"fb", "ig", "x", "tw", "li", "yt"})
VIDEO_BRANDS = frozenset({"youtube", "vimeo", "twitch", "dailymotion", "wistia", "bilibili", "rumble"})
VIDEO_DOMAINS = frozenset({"youtu.be", "ted.com", "iqiyi.com", "nicovideo.jp", "com.google.android.youtube"})
SHOPPING_BRANDS = frozenset(
    {"amazon", "ebay", "etsy", "shopify", "walmart", "aliexpress", "alibaba", "mercadolibre", "rakuten", "temu"}
)
SHOPPING_DOMAINS = frozenset({"shopping.google.com", "shop.app", "target.com", "bestbuy.com", "idealo.de"})
# Webmail hosts and mail apps: a referrer from one is email even without UTM.
EMAIL_DOMAINS = frozenset(
    {
        "mail.google.com", "inbox.google.com", "outlook.live.com", "outlook.office.com", "outlook.office365.com",
        "mail.yahoo.com", "mail.yahoo.co.jp", "mail.proton.me", "mail.protonmail.com", "app.fastmail.com",
        "mail.aol.com", "mail.yandex.ru", "e.mail.ru", "mail.zoho.com", "mail.zoho.eu", "icloud.com",
        "mail.gmx.net", "navigator.gmx.net", "web.de", "com.google.android.gm", "com.microsoft.office.outlook",
    }
)  # fmt: skip
EMAIL_WORDS = frozenset({"email", "e-mail", "e_mail", "e mail"})
# The order below is the rule table's: the last four make a source "shopping"/"social"/... .
_KINDS: tuple[tuple[str, frozenset[str], frozenset[str]], ...] = (
    ("email", frozenset(), EMAIL_DOMAINS),
    ("shopping", SHOPPING_BRANDS, SHOPPING_DOMAINS),
    ("video", VIDEO_BRANDS, VIDEO_DOMAINS),
    ("social", SOCIAL_BRANDS, SOCIAL_DOMAINS),
    ("search", SEARCH_BRANDS, SEARCH_DOMAINS),
)

# Ad click ids (the link was an ad) and the source each implies when nothing else names one.
PAID_CLICK_IDS = {
    "gclid": "google",
    "gbraid": "google",
    "wbraid": "google",
    "dclid": "google",
    "msclkid": "bing",
    "ttclid": "tiktok",
    "twclid": "twitter",
    "li_fat_id": "linkedin",
}
# Click ids that name a source without meaning the click was paid (see the module docstring).
ORGANIC_CLICK_IDS = {"fbclid": "facebook"}

_PAID_MEDIUM = re.compile(r"cp|^ppc$|^retargeting$|^paid")
_SHOP_CAMPAIGN = re.compile(r"(?:^|[^a-df-z])shop|shopping")
_DISPLAY_MEDIA = frozenset({"display", "banner", "expandable", "interstitial", "cpm"})
_SOCIAL_MEDIA = frozenset({"social", "social-network", "social-media", "sm", "social network", "social media"})
_REFERRAL_MEDIA = frozenset({"referral", "app", "link"})


@lru_cache(maxsize=4096)
def source_kind(source: str) -> str | None:
    """``"email"``, ``"shopping"``, ``"video"``, ``"social"``, ``"search"`` or None for a source.

    Cached: sources repeat (a few hundred referrer hosts make most of a site's traffic).
    """
    source = source.strip().lower()
    if source in SOCIAL_NAMES:
        return "social"
    labels = source.split(".")
    # The host and each parent: "a.b.c" → "a.b.c", "b.c", "c".
    suffixes = {".".join(labels[i:]) for i in range(len(labels))}
    label_set = set(labels)
    for kind, brands, domains in _KINDS:
        if not domains.isdisjoint(suffixes) or not brands.isdisjoint(label_set):
            return kind
    return None


def channel(source: str | None, medium: str | None, campaign: str | None) -> str:
    """The GA4 default channel of one (source, medium, campaign), per the module's rule table."""
    source = source.lower() if source else None
    medium = medium.lower() if medium else None
    campaign = campaign.lower() if campaign else None
    if (source is None and medium is None and campaign is None) or source == "(direct)":
        return "Direct"
    kind = source_kind(source) if source else None
    paid = medium is not None and _PAID_MEDIUM.search(medium) is not None
    shop_campaign = campaign is not None and _SHOP_CAMPAIGN.search(campaign) is not None
    if paid:
        if kind == "shopping" or shop_campaign:
            return "Paid Shopping"
        if kind == "search":
            return "Paid Search"
        if kind == "social":
            return "Paid Social"
        if kind == "video":
            return "Paid Video"
    if medium in _DISPLAY_MEDIA:
        return "Display"
    if paid:
        return "Paid Other"
    if kind == "shopping" or shop_campaign:
        return "Organic Shopping"
    if kind == "social" or medium in _SOCIAL_MEDIA:
        return "Organic Social"
    if kind == "video" or (medium is not None and "video" in medium):
        return "Organic Video"
    if kind == "search" or medium == "organic":
        return "Organic Search"
    if kind == "email" or source in EMAIL_WORDS or medium in EMAIL_WORDS:
        return "Email"
    if medium == "affiliate":
        return "Affiliates"
    if medium in _REFERRAL_MEDIA:
        return "Referral"
    return "Unassigned"
