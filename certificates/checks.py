"""System checks of the certificates app: what it cannot run without, said at start-up.

Django runs them before ``runserver``, ``migrate`` and every management command (but the key
command, which makes what they ask for): a host site that forgot the signing key hears so
with the setting's name and how to make a key, not from a failed task after a learner
earned a certificate.
"""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from certificates import keys
from certificates.app_settings import app_settings
from certificates.signing import public_key_from_multibase

KEY_HINT = (
    f"Set {keys.KEY_SETTING} (or {keys.KEY_FILE_SETTING}, the path of a file holding it) "
    f"in the settings, e.g. from the environment; make a key with "
    f"`{keys.CREATE_KEY_COMMAND}`."
)


@checks.register("certificates")
def signing_key_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """A signing key is configured and readable, unless one is made on first use (DEBUG)."""
    if not (app_settings.SIGNING_KEY or app_settings.SIGNING_KEY_FILE):
        if app_settings.SIGNING_KEY_AUTOGENERATE:
            return []  # made under var/ when the first credential is signed
        return [
            checks.Error(
                "No certificate signing key is configured: certificates cannot be issued.",
                hint=KEY_HINT,
                id="certificates.E001",
            )
        ]
    try:
        keys.signing_key()
    except ImproperlyConfigured as error:
        return [checks.Error(str(error), hint=KEY_HINT, id="certificates.E002")]
    return []


@checks.register("certificates")
def previous_keys_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Each retired public key is a Multikey, or credentials it signed would not verify."""
    problems = []
    for value in app_settings.PREVIOUS_PUBLIC_KEYS:
        try:
            public_key_from_multibase(value)
        except ValueError as error:
            problems.append(
                checks.Error(
                    f"{keys.PREVIOUS_KEYS_SETTING} holds {value!r}, which is not an Ed25519 "
                    f"Multikey public key: {error}",
                    hint="Give the publicKeyMultibase (z6Mk…) that the key command printed.",
                    id="certificates.E003",
                )
            )
    return problems
