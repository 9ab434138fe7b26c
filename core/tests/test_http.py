import pytest

from core.http import bearer_token


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer sk_abc", "sk_abc"),
        ("bearer sk_abc", "sk_abc"),
        ("BEARER   sk_abc  ", "sk_abc"),
        ("Bearer ", ""),
        ("Bearer", ""),
        ("", None),
        ("Basic dXNlcjo=", None),
        ("Bearer\tsk_abc", None),  # the scheme ends at a space, as DRF's and the old parsers read it
        ("Token sk_abc", None),
    ],
)
def test_bearer_token(header, token):
    assert bearer_token(header) == token
