"""What staff read in the admin at a laptop's width, as the pages write it: wide tables
scroll sideways with their first column held, certificate codes never wrap, the sidebar's
labels are not cut, and the recovery-code buttons are two buttons.

The browser's view of the same (screenshots at 1,280 px) is tests/e2e/test_admin_wide.py.
"""

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.template import Context, Origin, Template
from django.urls import reverse

from certificates.models import Certificate, CertificateRule, CertificateTemplate
from courses.models import Cohort
from tests.learning import finish_course

pytestmark = pytest.mark.django_db


def admin_css() -> str:
    return Path(finders.find("lms/admin.css")).read_text(encoding="utf-8")


def test_every_admin_page_loads_the_projects_admin_styles(client, people_a):
    client.force_login(people_a.author)

    page = client.get("/admin/").content.decode()

    assert re.search(r'<link rel="stylesheet" href="/static/lms/admin\.css"', page)
    css = admin_css()
    assert ".sidebar-menu-item .menuitem-label { white-space: normal;" in css
    assert "position: sticky; inset-inline-start: 0;" in css
    assert ".lms-code { white-space: nowrap; }" in css


def test_the_cohort_grid_scrolls_sideways_with_the_learner_column_held(
    client, people_a, course, institution_a
):
    cohort = Cohort.objects.create(institution=institution_a, course=course, name="March")
    cohort.learners.add(people_a.trainee)
    client.force_login(people_a.instructor)

    page = client.get(reverse("courses_cohort_grid", args=[cohort.pk])).content.decode()

    region = re.search(
        r'<div class="lms-scroll-x"[^>]*>\s*<table class="listing" data-cohort-grid>', page
    )
    assert region and 'role="region"' in region.group(0) and 'tabindex="0"' in region.group(0)
    assert 'style="' not in page.split("data-cohort-grid", 1)[1].split("</table>", 1)[0]


def test_the_register_prints_each_code_as_one_unbreakable_word(
    client, people_a, course, institution_a
):
    template = CertificateTemplate.objects.create(
        institution=institution_a, name="Standard", signatory_name="A", signatory_title="B"
    )
    CertificateRule.objects.create(course=course, template=template, require_modules=True)
    finish_course(people_a.trainee, course, on_commit=True)
    code = Certificate.objects.get().display_code
    client.force_login(people_a.manager)

    page = client.get(reverse("certificates_register")).content.decode()

    assert f'<code class="lms-code">{code}</code>' in page


def test_the_recovery_code_buttons_are_two_buttons():
    """allauth's recovery-codes page sets "Download codes" and "Generate new codes" as two
    ``button`` elements with links: rendered through the site's element template, each is a
    link styled as a button (site.css keeps buttons side by side apart)."""
    page = Template(
        "{% load allauth %}"
        '{% element button href="/download/" %}Download codes{% endelement %}'
        '{% element button href="/generate/" %}Generate new codes{% endelement %}',
        origin=Origin("recovery", template_name="mfa/recovery_codes/index.html"),
    ).render(Context({}))

    assert re.search(r'<a class="button" href="/download/"\s*>\s*Download codes', page), page
    assert re.search(r'<a class="button" href="/generate/"\s*>\s*Generate new codes', page)
    site_css = Path(finders.find("lms/site.css")).read_text(encoding="utf-8")
    assert "main > .button,main > button,main > form > button{margin:0 .5rem .5rem 0}" in site_css
