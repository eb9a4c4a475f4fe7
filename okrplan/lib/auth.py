"""Who is calling, with one prepared statement a request.

DRF's `TokenAuthentication` loads the token and its user through the ORM on every API
request, and Django's `ModelBackend` the session's user on every page; compiling each
query cost more than running it. These are the same checks (an unknown key or an
inactive user is refused, with the same messages) with the statements written once
(`okrplan.lib.sql`) and prepared on PostgreSQL. Personal tokens (several per person,
named, revocable; docs/decisions.md) are found by the ORM.
"""

import functools
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from hierarchy.models import PERSONAL_TOKEN_PREFIX, PersonalToken
from okrplan.lib.sql import Columns, fetch_one, id_in_range, split, table
from okrplan.lib.usernames import user_find

_TOKEN = Columns(Token, "t")
_USER = Columns(get_user_model(), "u")


@functools.cache
def _token_sql(vendor: str) -> str:
    return (
        f"SELECT {_TOKEN.sql}, {_USER.sql} FROM {table(Token)} t "
        f"JOIN {table(get_user_model())} u ON u.id = t.user_id "
        f"WHERE t.key = %s"
    )


def token_with_user(key: str) -> Token | None:
    """The token of `key` with its user loaded, or None."""
    row = fetch_one(_token_sql(connection.vendor), [key])
    if row is None:
        return None
    (token_v, user_v), _ = split(row, _TOKEN, _USER)
    token = _TOKEN.instance(token_v)
    token.user = _USER.instance(user_v)
    return token


# A personal token's `last_used_at` is written at most this often (not on every request).
LAST_USED_EVERY = timedelta(minutes=1)


def personal_token_with_user(key: str) -> PersonalToken | None:
    """The personal token (hierarchy.PersonalToken, several per person, stored as a hash)
    of `key` with its user loaded, or None; its last use noted."""
    try:
        token = PersonalToken.objects.select_related("user").get(key_hash=PersonalToken.digest(key))
    except PersonalToken.DoesNotExist:
        return None
    now = timezone.now()
    if token.last_used_at is None or token.last_used_at < now - LAST_USED_EVERY:
        PersonalToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


class TokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>`: the account's token (POST /api/v1/auth/token/) or
    one of its personal tokens (the profile page; keys start with `okrp_`)."""

    def authenticate_credentials(self, key):
        if key.startswith(PERSONAL_TOKEN_PREFIX):
            token = personal_token_with_user(key)
        else:
            token = token_with_user(key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return (token.user, token)


@functools.cache
def _user_sql(vendor: str) -> str:
    return f"SELECT {_USER.sql} FROM {table(get_user_model())} u WHERE u.id = %s"


class SessionUserBackend(ModelBackend):
    """Django's `ModelBackend` (passwords, permissions), loading a session's user with
    a prepared statement, and finding the account of a login by `username_key` (the
    login form, the token endpoint and /admin/login/ all come through here)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        user = user_find(username)
        if user is None:
            get_user_model()().set_password(password)  # as long as a wrong password takes
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id):
        try:
            user_id = int(user_id)
        except (TypeError, ValueError):
            return None
        if not id_in_range(get_user_model(), user_id):
            return None
        row = fetch_one(_user_sql(connection.vendor), [user_id])
        if row is None:
            return None
        user = _USER.instance(row)
        return user if self.user_can_authenticate(user) else None
