"""Password reset by email, end to end through a real SMTP server (aiosmtpd): ask for the reset,
read the mail the server received, follow its link, set a password, sign in with it."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from projects.tests.conftest import Inbox

pytestmark = pytest.mark.django_db

RESET_LINK = r"http://testserver/accounts/reset/[^/\s]+/[^/\s]+/"
NEW_PASSWORD = "amber-kettle-orchard-17"


def test_a_forgotten_password_is_reset_through_the_mailed_link(smtp_inbox: Inbox):
    get_user_model().objects.create_user("forgetful", email="forgetful@example.com", password="old-pass-phrase-9")
    client = Client()
    asked = client.post("/accounts/password_reset/", {"email": "forgetful@example.com"})
    assert asked.status_code == 302 and asked["Location"] == "/accounts/password_reset/done/"
    assert len(smtp_inbox.messages) == 1 and smtp_inbox.messages[0]["To"] == "forgetful@example.com"

    link = smtp_inbox.link(RESET_LINK).removeprefix("http://testserver")
    # Django swaps the token for a session marker and redirects to .../set-password/.
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200 and b"new_password1" in form_page.content
    set_url = form_page.redirect_chain[-1][0]
    weak = client.post(set_url, {"new_password1": "12345678", "new_password2": "12345678"})
    assert weak.status_code == 200 and b"too common" in weak.content
    done = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/accounts/reset/done/"

    signed_in = Client().post("/accounts/login/", {"username": "forgetful", "password": NEW_PASSWORD})
    assert signed_in.status_code == 302 and signed_in["Location"] == "/dashboard/"
    # The link works once.
    assert b"new_password1" not in Client().get(link, follow=True).content


def test_an_unknown_address_gets_the_same_answer_and_no_mail(smtp_inbox: Inbox):
    asked = Client().post("/accounts/password_reset/", {"email": "nobody@example.com"})
    assert asked.status_code == 302 and asked["Location"] == "/accounts/password_reset/done/"
    assert smtp_inbox.messages == []
