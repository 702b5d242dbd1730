from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management.base import BaseCommand, CommandError

from certificates.keys import (
    KEY_FILE_SETTING,
    KEY_SETTING,
    PREVIOUS_KEYS_SETTING,
    private_key_text,
    write_key_file,
)
from certificates.signing import public_key_multibase

ROTATION_ADVICE = (
    f"When this key replaces another, add the old public key to {PREVIOUS_KEYS_SETTING} "
    "so that certificates signed with it still verify."
)


class Command(BaseCommand):
    help = "Create a new Ed25519 key for signing certificates and say how to configure it."
    # It makes the key the system checks ask for (certificates.E001), so it runs without one.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--file",
            type=Path,
            help="Write the key to this file (mode 0600) instead of printing it.",
        )
        parser.add_argument(
            "--force", action="store_true", help="With --file: replace an existing file."
        )

    def handle(self, *args, file, force, **options):
        private_key = Ed25519PrivateKey.generate()
        public = public_key_multibase(private_key.public_key())
        if file is None:
            self.stdout.write(f"{KEY_SETTING}={private_key_text(private_key)}")
            self.stdout.write(f"Public key (publicKeyMultibase): {public}")
            self.stdout.write(
                f"Set {KEY_SETTING}=… in the environment, as above; keep it secret and out of "
                f"the repository. {ROTATION_ADVICE}"
            )
            return
        try:
            write_key_file(file, private_key, overwrite=force)
        except FileExistsError as error:
            raise CommandError(
                f"{file} already exists; pass --force to replace the key it holds "
                "(certificates signed with it would then need its public key in "
                f"{PREVIOUS_KEYS_SETTING})."
            ) from error
        except OSError as error:
            raise CommandError(f"Cannot write {file}: {error}") from error
        self.stdout.write(f"Wrote a new certificate signing key to {file} (mode 0600).")
        self.stdout.write(f"Public key (publicKeyMultibase): {public}")
        self.stdout.write(
            f"Set {KEY_FILE_SETTING}={file.resolve()} in the environment. {ROTATION_ADVICE}"
        )
