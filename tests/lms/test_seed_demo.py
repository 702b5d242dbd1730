"""What ``make run`` prints: every demo login, its role and where to start, and nothing else.

A newcomer reads this output to try the site: each login (the graduate too) with its role
and the page to open first, and no library chatter (pages created, Celery tasks run,
kombu's "No hostname was supplied") around it.
"""

import io
import logging
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from lms import demo, selectors
from lms.jurisdiction import Jurisdiction
from lms.links import absolute_url

pytestmark = pytest.mark.django_db

EVERY_LOGIN = [login.username for login in demo.LOGINS] + ["graduate"]


@pytest.fixture
def seeded(caplog, capsys):
    caplog.set_level(logging.DEBUG)
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue() + capsys.readouterr().out, caplog


def login_lines(output: str) -> dict[str, tuple[str, str]]:
    """Each printed login: (its role line, its "where to start" line)."""
    lines = output.splitlines()
    found = {}
    for number, line in enumerate(lines):
        match = re.match(r"^  (\S+)\s+(\S.*)$", line)
        if match and match.group(1) in EVERY_LOGIN:
            found[match.group(1)] = (match.group(2), lines[number + 1].strip())
    return found


def test_the_seed_prints_every_demo_login_with_its_role_and_where_to_start(seeded):
    output, _logs = seeded
    logins = login_lines(output)

    assert list(logins) == EVERY_LOGIN
    assert logins["graduate"][0] == "trainee who finished the demo course"
    assert logins["author"][0] == "author at Ubuntu Institute of Social Service"
    assert logins["author-mekong"][0] == "author at Mekong Community Care College"
    assert logins["regulator"][0].startswith("regulator")
    for username, (_role, start) in logins.items():
        assert start.startswith("→ " + absolute_url("/")), username
    assert logins["trainee"][1].startswith(f"→ {absolute_url('/learning/')}  My learning")
    assert logins["graduate"][1].startswith(f"→ {absolute_url('/certificates/')}")
    assert f"password for all: {demo.DEMO_PASSWORD}" in output
    assert "(held by 'graduate')" in output


def test_the_seed_output_has_no_task_logs_or_broker_warnings(seeded):
    output, logs = seeded
    chatter = [
        f"{record.name}: {record.getMessage()}"
        for record in logs.records
        if record.levelno < logging.ERROR
        and record.name.split(".")[0] in {"wagtail", "celery", "kombu"}
    ]

    assert chatter == []
    assert "No hostname was supplied" not in output
    assert "Task " not in output and "Page created" not in output


def test_the_seed_is_idempotent_and_prints_the_same_logins_again(seeded):
    first, _logs = seeded
    again = io.StringIO()
    call_command("seed_demo", stdout=again)

    assert list(login_lines(again.getvalue())) == list(login_lines(first))


def test_the_demo_regulator_is_only_a_member_of_the_council(seeded):
    """The regulator role is membership of a body: the demo's regulator reads Kenya through
    its council, and no group makes them one."""
    regulator = get_user_model().objects.get(username="regulator")

    assert regulator.regulator_membership.body.slug == "kenya-council"
    assert selectors.regulator_jurisdiction(user=regulator) == Jurisdiction(country="KE")
    assert list(regulator.groups.values_list("name", flat=True)) == [
        regulator.regulator_membership.body.admin_group.name
    ]
