"""GEOIP_DATABASE: region and city from a MaxMind-format file, and the start-up check.

The file is written by the test with mmdb-writer (a dev dependency), in the layout of MaxMind's
GeoIP2/GeoLite2 City databases, and read back through maxminddb as an operator's file would be.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from ingestion.enrichment import clear_caches, client_info, geoip_check


def _city(country: str, region: str, city: str) -> dict:
    return {
        "country": {"iso_code": country, "names": {"en": country}},
        "subdivisions": [{"iso_code": "X", "names": {"en": region, "de": "nicht"}}],
        "city": {"names": {"en": city}},
    }


@pytest.fixture
def city_db(tmp_path: Path) -> Path:
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoIP2-City")
    writer.insert_network(IPSet(["81.2.69.0/24"]), _city("GB", "England", "London"))
    writer.insert_network(IPSet(["2001:4860::/32"]), _city("US", "California", "Mountain View"))
    # Where the operator's file and iptocc disagree, the file wins (its region must match its country).
    writer.insert_network(IPSet(["193.0.6.0/24"]), _city("DE", "Hesse", "Frankfurt am Main"))
    writer.insert_network(IPSet(["202.12.27.0/24"]), {"unexpected": ["layout"]})
    path = tmp_path / "city.mmdb"
    writer.to_db_file(str(path))
    return path


@pytest.fixture
def geoip_setting(settings):
    def configure(path: str) -> None:
        settings.EVENTBASE = {**settings.EVENTBASE, "GEOIP_DATABASE": path}
        clear_caches()

    yield configure
    clear_caches()


def test_region_and_city(city_db: Path, geoip_setting) -> None:
    geoip_setting(str(city_db))
    geoip_check()
    london = client_info("81.2.69.142", None)
    assert (london.country, london.region, london.city) == ("GB", "England", "London")
    google = client_info("2001:4860:4860::8888", None)
    assert (google.country, google.region, google.city) == ("US", "California", "Mountain View")
    ripe = client_info("193.0.6.139", None)
    assert (ripe.country, ripe.region, ripe.city) == ("DE", "Hesse", "Frankfurt am Main")
    # Not in the file: iptocc's country alone; a record of another layout gives no region or city.
    assert (client_info("8.8.8.8", None).country, client_info("8.8.8.8", None).city) == ("US", None)
    odd = client_info("202.12.27.33", None)
    assert (odd.country, odd.region, odd.city) == ("JP", None, None)
    assert client_info("10.1.2.3", None).country is None


def test_without_a_check_the_file_is_opened_on_first_use(city_db: Path, geoip_setting) -> None:
    geoip_setting(str(city_db))
    assert client_info("81.2.69.1", None).city == "London"


def test_unset_is_fine(geoip_setting) -> None:
    geoip_setting("")
    geoip_check()
    assert client_info("81.2.69.142", None).city is None


def test_a_missing_file_fails_start_up_with_one_line(tmp_path: Path, geoip_setting) -> None:
    missing = tmp_path / "nope" / "GeoLite2-City.mmdb"
    geoip_setting(str(missing))
    with pytest.raises(ImproperlyConfigured) as caught:
        geoip_check()
    message = str(caught.value)
    assert "\n" not in message
    assert str(missing) in message and "GEOIP_DATABASE" in message and "unset GEOIP_DATABASE" in message
    # Lookups still work (country only) if something calls them without the check.
    assert client_info("81.2.69.142", None).country == "GB"


@pytest.mark.parametrize("content", [b"", b"not a maxmind database at all" * 100])
def test_an_unreadable_file_fails_start_up_with_one_line(tmp_path: Path, geoip_setting, content: bytes) -> None:
    bad = tmp_path / "bad.mmdb"
    bad.write_bytes(content)
    geoip_setting(str(bad))
    with pytest.raises(ImproperlyConfigured) as caught:
        geoip_check()
    assert "\n" not in str(caught.value) and str(bad) in str(caught.value)


def test_a_directory_is_not_a_database(tmp_path: Path, geoip_setting) -> None:
    geoip_setting(str(tmp_path))
    with pytest.raises(ImproperlyConfigured, match="not a file"):
        geoip_check()


@pytest.mark.parametrize("content", [None, b"not a MaxMind database"])
def test_a_bad_geoip_database_stops_start_up_in_one_line(tmp_path, content):
    """`manage.py check` (as `make run`'s preflight) exits 2 with one line naming the file."""
    import os
    import subprocess
    import sys

    from config.settings import BASE_DIR

    path = tmp_path / "GeoLite2-City.mmdb"
    if content is not None:
        path.write_bytes(content)
    env = {**os.environ, "DEBUG": "true", "GEOIP_DATABASE": str(path), "EVENTBASE_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=BASE_DIR,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("configuration error:") and str(path) in result.stderr
