"""The site's language for a visitor: Django's language cookie, set as its own view sets it."""

from django.conf import settings


def language_cookie_set(response, language: str) -> None:
    """The site speaks ``language`` to this browser from the next page on, as after the
    footer's switcher (Django's ``set_language``), until another is chosen there."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
