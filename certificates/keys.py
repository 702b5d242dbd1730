"""The Ed25519 key that signs certificates, from configuration and never from the repository.

Settings (:mod:`certificates.app_settings`, read from the environment by the settings module):

- ``CERTIFICATE_SIGNING_KEY``: the 32-byte private seed, as multibase base58btc (``z…``)
  or as 64 hex digits; or ``CERTIFICATE_SIGNING_KEY_FILE``: a file holding that text.
- ``CERTIFICATE_PREVIOUS_PUBLIC_KEYS``: Multikey public keys (``z6Mk…``) of retired keys,
  whose certificates must still verify after a key change.
- ``CERTIFICATE_SIGNING_KEY_AUTOGENERATE``: create a key in ``var/`` when none is set, as
  under ``DEBUG``; for development and tests only. In production a missing key is an error.

``manage.py certificate_signing_key`` creates a key. The keys are read once per process;
:func:`reset_cache` forgets them, as :mod:`certificates.signals` does when a setting changes.
"""

import functools
import logging
import os
import re
import tempfile
from pathlib import Path

import base58
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from django.core.exceptions import ImproperlyConfigured

from certificates.app_settings import app_settings
from certificates.signing import public_key_from_multibase, public_key_multibase

logger = logging.getLogger(__name__)

KEY_SETTING = "CERTIFICATE_SIGNING_KEY"
KEY_FILE_SETTING = "CERTIFICATE_SIGNING_KEY_FILE"
PREVIOUS_KEYS_SETTING = "CERTIFICATE_PREVIOUS_PUBLIC_KEYS"
CREATE_KEY_COMMAND = "python manage.py certificate_signing_key"

_HEX_SEED = re.compile(r"[0-9a-fA-F]{64}")


def private_key_text(private_key: Ed25519PrivateKey) -> str:
    """The private seed as it is configured: ``z`` + base58btc of the raw 32 bytes."""
    seed = private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return "z" + base58.b58encode(seed).decode("ascii")


def private_key_from_text(text: str) -> Ed25519PrivateKey:
    """Parse a private seed given as ``z…`` base58btc or as hex; ``ValueError`` says why not."""
    text = text.strip()
    if _HEX_SEED.fullmatch(text):
        seed = bytes.fromhex(text)
    elif text.startswith("z") and len(text) < 100:
        try:
            seed = base58.b58decode(text[1:])
        except ValueError as error:
            raise ValueError("it starts with 'z' but is not base58btc") from error
        if len(seed) != 32:
            hint = " (is it the public key?)" if len(seed) == 34 else ""
            raise ValueError(f"it holds {len(seed)} bytes, not the 32 of a seed{hint}")
    else:
        raise ValueError("it is neither 'z' + base58btc nor 64 hex digits")
    return Ed25519PrivateKey.from_private_bytes(seed)


@functools.cache
def signing_key() -> Ed25519PrivateKey:
    """The key that signs new certificates; ``ImproperlyConfigured`` when there is none."""
    value = app_settings.SIGNING_KEY
    path = app_settings.SIGNING_KEY_FILE
    if value and path:
        raise ImproperlyConfigured(f"Set {KEY_SETTING} or {KEY_FILE_SETTING}, not both.")
    if value:
        return _parse_setting(value, KEY_SETTING)
    if path:
        return _parse_setting(_read_key_file(Path(path), KEY_FILE_SETTING), KEY_FILE_SETTING)
    if app_settings.SIGNING_KEY_AUTOGENERATE:
        return _development_key()
    raise ImproperlyConfigured(
        f"No certificate signing key is configured. Set {KEY_SETTING} (or "
        f"{KEY_FILE_SETTING}, a path to a file holding it) in the environment; "
        f"create a key with `{CREATE_KEY_COMMAND}`."
    )


@functools.cache
def known_public_keys() -> dict[str, Ed25519PublicKey]:
    """Public keys whose signatures verify, by Multikey: the current one, then retired ones."""
    current = signing_key().public_key()
    keys = {public_key_multibase(current): current}
    for value in app_settings.PREVIOUS_PUBLIC_KEYS:
        try:
            keys.setdefault(value, public_key_from_multibase(value))
        except ValueError as error:
            raise ImproperlyConfigured(
                f"{PREVIOUS_KEYS_SETTING} holds {value!r}, which is not an Ed25519 Multikey "
                f"public key: {error}"
            ) from error
    return keys


def reset_cache() -> None:
    """Forget the keys read so far (after a settings change, in tests)."""
    signing_key.cache_clear()
    known_public_keys.cache_clear()


def _parse_setting(text: str, setting: str) -> Ed25519PrivateKey:
    try:
        return private_key_from_text(text)
    except ValueError as error:
        raise ImproperlyConfigured(
            f"{setting} is not a valid Ed25519 signing key: {error}. Create one with "
            f"`{CREATE_KEY_COMMAND}`."
        ) from error


def _read_key_file(path: Path, setting: str) -> str:
    try:
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as error:
        raise ImproperlyConfigured(f"{setting} is {path}, which cannot be read: {error}") from error


def write_key_file(path: Path, private_key: Ed25519PrivateKey, *, overwrite: bool = False) -> None:
    """Write ``private_key`` to ``path``, readable by its owner only (mode 0600).

    The file appears complete or not at all; without ``overwrite`` an existing file is
    kept and ``FileExistsError`` raised.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".signing-key-")  # 0600
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(private_key_text(private_key) + "\n")
        if overwrite:
            os.replace(temporary, path)
        else:
            os.link(temporary, path)  # fails if the file exists, even when another process won
    finally:
        Path(temporary).unlink(missing_ok=True)


def _development_key() -> Ed25519PrivateKey:
    """Under DEBUG (or with autogeneration on), a key kept in var/ so that signing just works."""
    path = app_settings.DEVELOPMENT_KEY_FILE
    if not path.exists():
        try:
            write_key_file(path, Ed25519PrivateKey.generate())
            logger.warning("Created a development certificate signing key in %s.", path)
        except FileExistsError:
            pass  # another process created it first: use theirs
    return _parse_setting(_read_key_file(path, "The development key"), str(path))
