"""The register of certified workers: who a jurisdiction's workers are and what they hold.

The public sees only workers who chose to be listed (``listed_in_register`` on their profile,
off by default); a regulator of the body sees every worker of its jurisdiction. Either way a
worker appears only while they hold a valid certificate, and only with the facts the register
is for: the name as printed, cadre, registration number and valid certificates. Never an
e-mail address or a date of birth.
"""

from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone

from certificates import selectors as certificate_selectors
from certificates.codes import ALPHABET, code_parse
from lms.models import Cadre
from regulation import selectors
from regulation.figures import valid_on

#: Shorter text would match half the register.
MIN_QUERY_LENGTH = 3
#: Workers shown for one search.
MAX_RESULTS = 50


@dataclass
class RegisteredCertificate:
    course: str
    institution: str
    issued_on: str
    valid_until: str | None
    competencies: list[str]


@dataclass
class RegisterEntry:
    name: str
    cadre: str
    registration_number: str
    region: str
    certificates: list[RegisteredCertificate] = field(default_factory=list)


def search(*, body, text: str, everyone: bool, today=None) -> list[RegisterEntry]:
    """Workers of ``body``'s jurisdiction matching ``text`` by name, registration number or
    certificate code, with their valid certificates. ``everyone``: include the unlisted
    (for the body's own regulators)."""
    text = text.strip()
    if len(text) < MIN_QUERY_LENGTH:
        return []
    today = today or timezone.localdate()
    profiles = selectors.jurisdiction_profiles(body=body)
    if not everyone:
        profiles = profiles.filter(listed_in_register=True)
    valid = certificate_selectors.certificates_of(learner_ids=profiles.values("user_id")).filter(
        valid_on(today)
    )
    match = (
        Q(full_name__icontains=text)
        | Q(worker_registration_number=text)
        | Q(worker_registration_number=text.upper())
    )
    code = code_parse(text).code
    if len(code) >= 16 and all(symbol in ALPHABET for symbol in code):
        match |= Q(user_id__in=valid.filter(code=code).values("learner_id"))
    # The matching profiles first (few), then which of them hold a valid certificate: a
    # semi-join with every certificate of the jurisdiction would read them all.
    candidates = list(profiles.filter(match).order_by("full_name", "pk")[: MAX_RESULTS * 4])
    holding = set(
        valid.filter(learner_id__in=[p.user_id for p in candidates]).values_list(
            "learner_id", flat=True
        )
    )
    found = [p for p in candidates if p.user_id in holding][:MAX_RESULTS]
    held: dict[int, list[RegisteredCertificate]] = {}
    printed: dict[int, str] = {}  # the name on the newest valid certificate
    for certificate in valid.filter(learner_id__in=[p.user_id for p in found]).order_by(
        "-issued_at"
    ):
        printed.setdefault(certificate.learner_id, certificate.holder_name)
        held.setdefault(certificate.learner_id, []).append(
            RegisteredCertificate(
                course=certificate.course_title,
                institution=certificate.institution_name,
                issued_on=timezone.localdate(certificate.issued_at).isoformat(),
                valid_until=(
                    certificate.valid_until.isoformat() if certificate.valid_until else None
                ),
                competencies=[
                    " ".join(filter(None, [c.get("code", ""), c.get("statement", "")]))
                    for c in certificate.competencies
                ],
            )
        )
    labels = dict(Cadre.choices)
    return [
        RegisterEntry(
            name=printed[p.user_id],
            cadre=str(labels.get(p.cadre, p.cadre)),
            registration_number=p.worker_registration_number,
            region=p.region,
            certificates=held.get(p.user_id, []),
        )
        for p in found
        if p.user_id in held
    ]
