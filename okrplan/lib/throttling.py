"""One limit on password guessing, for the API token and the browser login forms (and
the limits on sign-ups and on password reset e-mails, below).

`POST /api/v1/auth/token/`, `POST /accounts/login/` and `POST /admin/login/` count
attempts per client address and username (`username_key`: NFKC, then casefold) in
Django's cache (`settings.LOGIN_RATE`, e.g. `10/min`), with DRF's sliding-window
throttle. Keyed by the pair, a guesser is slowed down on the accounts they try while
somebody else cannot lock a user out from another address.
The client address is REMOTE_ADDR unless `REST_FRAMEWORK["NUM_PROXIES"]` says how many
proxies in front of us append to X-Forwarded-For (so a client cannot make up one).
"""

import hashlib
import math

from django.conf import settings
from rest_framework.exceptions import Throttled
from rest_framework.throttling import SimpleRateThrottle

from okrplan.lib.usernames import username_key


class LoginRateThrottle(SimpleRateThrottle):
    """Attempts to log in, per client address and username (DRF view or Django view)."""

    scope = "login"

    def get_rate(self) -> str:
        return settings.LOGIN_RATE  # read per request, so that a test can change it

    def get_cache_key(self, request, view) -> str:
        data = request.data if hasattr(request, "data") else request.POST
        username = str(data.get("username", "") if hasattr(data, "get") else "")
        # The one normalisation the login uses to find the account (NFKC, casefold):
        # every spelling of a name shares one budget. Hashed: usernames are user input,
        # cache keys have a length and character set.
        who = hashlib.sha256(username_key(username).encode()).hexdigest()[:32]
        ident = f"{self.get_ident(request)}:{who}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def retry_after(self) -> int:
        """Whole seconds until the next attempt is allowed (at least 1)."""
        return self.seconds(self.wait())

    @staticmethod
    def seconds(wait: float | None) -> int:
        return max(1, math.ceil(wait or 1))


class LoginThrottled(Throttled):
    """429 with Retry-After (DRF's exception handler sets it from `wait`)."""

    default_detail = "Too many login attempts."
    extra_detail_singular = "Try again in {wait} second."
    extra_detail_plural = "Try again in {wait} seconds."


def throttled_message(seconds: int) -> str:
    return str(LoginThrottled(wait=seconds).detail)


class RegisterRateThrottle(SimpleRateThrottle):
    """Sign-ups per client address (`settings.REGISTER_RATE`): the API's register and the
    invitation link's sign-up form share the count."""

    scope = "register"

    def get_rate(self) -> str:
        return settings.REGISTER_RATE

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def retry_after(self) -> int:
        return LoginRateThrottle.seconds(self.wait())


class RegisterThrottled(Throttled):
    default_detail = "Too many sign-ups from this address."
    extra_detail_singular = "Try again in {wait} second."
    extra_detail_plural = "Try again in {wait} seconds."


class PasswordResetRateThrottle(SimpleRateThrottle):
    """Password reset e-mails asked for, per client address and e-mail address typed
    (`settings.PASSWORD_RESET_RATE`): nobody can fill a person's mailbox with them."""

    scope = "password_reset"

    def get_rate(self) -> str:
        return settings.PASSWORD_RESET_RATE

    def get_cache_key(self, request, view) -> str:
        email = str(request.POST.get("email", "")).strip().casefold()
        who = hashlib.sha256(email.encode()).hexdigest()[:32]
        ident = f"{self.get_ident(request)}:{who}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def retry_after(self) -> int:
        return LoginRateThrottle.seconds(self.wait())


class PasswordResetThrottled(Throttled):
    default_detail = "Too many password resets asked for this address."
    extra_detail_singular = "Try again in {wait} second."
    extra_detail_plural = "Try again in {wait} seconds."
