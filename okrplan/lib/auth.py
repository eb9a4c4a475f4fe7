"""Who is calling: DRF's `TokenAuthentication` and Django's `ModelBackend`, with what
okrplan adds to each: personal tokens (several per person, named, revocable, `okrp_`
keys; docs/decisions.md) and login by `username_key` (okrplan/lib/usernames.py).
"""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from hierarchy.models import PERSONAL_TOKEN_PREFIX, PersonalToken
from okrplan.lib.usernames import user_find

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
        if not key.startswith(PERSONAL_TOKEN_PREFIX):
            return super().authenticate_credentials(key)
        token = personal_token_with_user(key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return (token.user, token)


class SessionUserBackend(ModelBackend):
    """Django's `ModelBackend` (passwords, permissions, the session's user), finding the
    account of a login by `username_key` (the login form, the token endpoint and
    /admin/login/ all come through here)."""

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
