"""One normalisation of usernames, for every door a username comes in by.

`username_key` is NFKC, then casefold (after trimming): "bfuser3" with a full-width or
a mathematical bold "b", and "BFUSER3", are all "bfuser3". It is
what the login limit counts by (okrplan/lib/throttling.py) and what finds the account
(`user_find`) for the login form, the token endpoint and `/admin/login/` (all three
authenticate through `okrplan.lib.auth.SessionUserBackend`); registration refuses a name
whose key is taken (`username_taken`). Stored usernames are NFKC already (Django's
`AbstractBaseUser.clean` and `create_user` normalise them), so the database is asked for
a case-insensitive match and the key decides among what it returns.
"""

import unicodedata

from django.contrib.auth import get_user_model
from django.db.models import Q


def username_key(username) -> str:
    """The one form a username is compared and counted in: NFKC, then casefold."""
    return unicodedata.normalize("NFKC", str(username)).strip().casefold()


def _candidates(username) -> list:
    key = username_key(username)
    if not key:
        return []
    nfkc = unicodedata.normalize("NFKC", str(username)).strip()
    User = get_user_model()
    found = User._default_manager.filter(Q(username__iexact=nfkc) | Q(username__iexact=key))
    return [user for user in found if username_key(user.username) == key]


def user_find(username):
    """The account `username` names under `username_key`, or None. Two accounts of one
    key (made before registration refused that): only the exact spelling finds one."""
    candidates = _candidates(username)
    if len(candidates) == 1:
        return candidates[0]
    exact = unicodedata.normalize("NFKC", str(username)).strip()
    return next((user for user in candidates if user.username == exact), None)


def username_taken(username) -> bool:
    return bool(_candidates(username))
