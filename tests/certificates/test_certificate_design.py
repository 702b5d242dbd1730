"""The certificate as people print and frame it: every shipped layout, with the demo logo
and signature, rendered to PDF and to a PNG kept in ``test-artifacts/certificates/`` for
a person to look at.

The cases are the ones that strain a layout: the demo as it is, a long holder name with a
long course title, fifteen competencies, and French. Whatever the case, the certificate is
one page, says who holds it, for which course, from which institution, lists every
competency, and prints the verification address with its code unbroken on one line.
"""

import io
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pypdf
import pypdfium2
import pytest
from django.utils import timezone

from certificates import demo, rendering
from certificates.codes import check_symbol
from certificates.models import Certificate, CertificateTemplate, Layout

pytestmark = pytest.mark.django_db

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "certificates"
SITE = "https://learning.ubuntu-institute.example.org"

COMPETENCIES = [
    ("PP.1.1", "Coordinates with other service providers", "Competent"),
    ("PP.3.1", "Carries out a strengths-based assessment of the child and family", "Proficient"),
    ("PP.4.2", "Refers children and families to the services they need", "Competent"),
]
FIFTEEN = [
    (
        f"PP.{domain}.{item}",
        [
            "Builds a trusting relationship with the child and the caregivers",
            "Identifies signs of abuse, neglect, exploitation and violence",
            "Documents each contact accurately, confidentially and on time",
            "Develops a case plan with the family and reviews it regularly",
            "Follows up referrals until the service is received",
        ][(domain + item) % 5],
        ["Developing", "Competent", "Proficient"][(domain * item) % 3],
    )
    for domain in range(1, 6)
    for item in range(1, 4)
]
FRENCH = [
    ("PP.1.1", "Se coordonne avec les autres prestataires de services", "Compétent"),
    ("PP.3.1", "Mène une évaluation fondée sur les forces de l’enfant et de sa famille", "Expert"),
    ("PP.5.2", "Élabore et révise un plan de prise en charge avec la famille", "Compétent"),
]

CASES = {
    "demo": {"holder": "Joseph Otieno", "course": "Case management for para-professionals"},
    "long-names": {
        "holder": "Nomvula Thandiwe Precious Mahlangu-Dlamini Nkosazana",
        "course": "Child protection case management for para-professionals and community "
        "volunteers in informal settlements: assessment, planning and follow-up",
    },
    "fifteen-competencies": {
        "holder": "Amina Wanjiru",
        "course": "Case management for para-professionals",
        "competencies": FIFTEEN,
    },
    "french": {
        "holder": "Marie-Claire Nduwimana",
        "course": "Gestion de cas pour les para-professionnels",
        "competencies": FRENCH,
        "language": "fr",
    },
}


@pytest.fixture
def templates(institution_a) -> dict[str, CertificateTemplate]:
    logo = demo.demo_image("logo", "Demo institution emblem")
    signature = demo.demo_image("signature", "Demo signatory's signature")
    return {
        layout: CertificateTemplate.objects.create(
            institution=institution_a,
            name=layout,
            layout=layout,
            logo=logo,
            signature=signature,
            signatory_name="Dr. Achieng Otieno",
            signatory_title="Principal",
        )
        for layout in Layout.values
    }


def certificate_for(template: CertificateTemplate, case: dict) -> Certificate:
    code_data = "R8KJN4WQ7TZ2M6XD"
    issued = timezone.now()
    template.language = case.get("language", "en")
    return Certificate(
        code=code_data + check_symbol(code_data),
        template=template,
        institution=template.institution,
        holder_name=case["holder"],
        course_title=case["course"],
        institution_name="Ubuntu Institute of Social Service",
        cpd_hours=Decimal("12.5"),
        framework_title="Para-Professional Social Service Workforce Competencies",
        framework_version="1.0",
        competencies=[
            {"code": code, "statement": statement, "level": level}
            for code, statement, level in case.get("competencies", COMPETENCIES)
        ],
        language=case.get("language", "en"),
        issued_at=issued,
        valid_until=timezone.localdate(issued) + timedelta(days=730),
        version=1,
    )


def middle_and_bottom(page, last_word: str) -> tuple[float, float]:
    """(the lowest ``last_word`` of the list of competencies, the top of the bottom row's
    images), in PDF units from the foot of the page. The bottom row holds the signature and
    the QR code, the only images in the lower half of the sheet."""
    height = page.get_height()
    images = [
        obj.get_bounds()
        for obj in page.get_objects()
        if obj.type == pypdfium2.raw.FPDF_PAGEOBJ_IMAGE and obj.get_bounds()[3] < height / 2
    ]
    bottom_top = max(top for _left, _bottom, _right, top in images)
    textpage = page.get_textpage()
    searcher = textpage.search(last_word, match_case=True)
    boxes = []
    while (found := searcher.get_next()) is not None:
        index, count = found
        boxes += [textpage.get_charbox(i)[1] for i in range(index, index + count)]
    assert boxes, f"{last_word!r} is not on the page"
    return min(boxes), bottom_top


def page_lines(pdf: bytes) -> tuple[int, list[str]]:
    document = pypdfium2.PdfDocument(pdf)
    text = document[0].get_textpage().get_text_range()
    return len(document), [line.strip() for line in text.splitlines()]


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("layout", Layout.values)
def test_each_layout_prints_a_certificate_people_are_proud_of(templates, layout, case):
    certificate = certificate_for(templates[layout], CASES[case])
    url = f"{SITE}/verify/{certificate.display_code}/"

    pdf = rendering.render_pdf(certificate=certificate, verification_url=url)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = pypdfium2.PdfDocument(pdf)[0]
    page.render(scale=1.6).to_pil().save(ARTIFACTS / f"{layout}-{case}.png")
    pages, lines = page_lines(pdf)
    assert pages == 1
    # The last competency ends above the signature and the QR code: nothing overlaps.
    last_word = certificate.competencies[-1]["statement"].split()[-1]
    lowest, bottom_top = middle_and_bottom(page, last_word)
    assert lowest > bottom_top, f"the middle runs into the bottom row ({lowest} <= {bottom_top})"
    text = re.sub(r"-\s+", "-", " ".join(lines))  # a line may end after a hyphen
    assert " ".join(certificate.holder_name.split()) in text
    assert "Ubuntu Institute of Social Service" in text
    for item in certificate.competencies:
        assert item["code"] in text
    # The code never breaks: it is whole on one line, with the rest of its address.
    assert any(f"/verify/{certificate.display_code}/" in line for line in lines), lines
    extracted = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert f"/verify/{certificate.display_code}/" in extracted
