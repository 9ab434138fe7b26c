"""Who sent an event: anonymous ids and the IP address a project agrees to store."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

from projects.models import IpHandling

ANONYMOUS_PREFIX = "anon_"


def anonymous_id(*, salt: str, ip: str, user_agent: str, site: str | None = None) -> str:
    """A stable id for a visitor who sent no user_id: HMAC of IP and User-Agent under the project salt.

    Keyed by a per-project secret so the id can neither be reversed to the IP/User-Agent pair by
    brute force nor joined across projects. A cookieless project's salt is the day's
    (ingestion.cookieless) and ``site`` the page's host, so the id lasts a day and one site.
    """
    message = f"{ip}\n{user_agent}" if site is None else f"{ip}\n{user_agent}\n{site}"
    digest = hmac.new(salt.encode(), message.encode(), hashlib.sha256).hexdigest()
    return ANONYMOUS_PREFIX + digest[:32]


def stored_ip(ip: str | None, handling: str) -> str | None:
    if not ip or handling == IpHandling.DROP:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if handling == IpHandling.TRUNCATE:
        prefix = 24 if address.version == 4 else 48
        return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)
    return str(address)
