"""Writes of the regulation app: bodies, their regulators, population figures, targets
and CPD (requirements, activities and their approval, reminders)."""

import csv
import datetime
import hashlib
import io
import re
import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from regulation import figures_cache
from regulation.models import (
    ActivityStatus,
    CpdActivity,
    CpdReminder,
    CpdRequirement,
    PopulationFigure,
    RegulatorApiKey,
    RegulatorMembership,
    RegulatoryBody,
)

#: The population file's columns, in this order, with a header line.
POPULATION_COLUMNS = ("region", "total_population", "children_under_18")
#: More lines than any country has regions: a bigger file is a mistake.
POPULATION_MAX_LINES = 2000


class PopulationFileError(ValueError):
    """The population file was refused: ``problems`` lists each one with its line number."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class PopulationRow:
    region: str
    total_population: int
    children: int


@transaction.atomic
def body_create(*, name: str, slug: str, country: str, regions=()) -> RegulatoryBody:
    body = RegulatoryBody.objects.create(
        name=name, slug=slug, country=country.upper(), regions=list(regions)
    )
    body_admin_group_sync(body=body)
    return body


@transaction.atomic
def body_admin_group_sync(*, body: RegulatoryBody) -> Group:
    """(Re)create the body's admin group, which lets its regulators open the Wagtail admin
    (their read-only framework and certificate pages), and put its members in it. Idempotent.

    The group carries Wagtail's permission only: the regulator role itself is the
    :class:`~regulation.models.RegulatorMembership` (see :mod:`lms.jurisdiction`)."""
    group = body.admin_group
    if group is None:
        group, _created = Group.objects.get_or_create(name=admin_group_name(body))
        body.admin_group = group
        body.save(update_fields=["admin_group"])
    group.permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    )
    group.user_set.add(*get_user_model().objects.filter(regulator_membership__body=body))
    return group


@transaction.atomic
def body_delete(*, body: RegulatoryBody) -> None:
    """Delete the body with everything of it: its members are no longer regulators, and its
    admin group goes with it, so that none of them keeps the Wagtail admin access."""
    group_id = body.admin_group_id
    body.delete()
    Group.objects.filter(pk=group_id).delete()


def admin_group_name(body: RegulatoryBody) -> str:
    # Not translated: a group's name is a key, the same whichever language created it.
    return f"{body.name} · regulators"[:150]


@transaction.atomic
def regulator_add(*, user, body: RegulatoryBody) -> RegulatorMembership:
    """Make ``user`` a regulator of ``body``: they read its jurisdiction, read-only, must use
    a second factor, and open the Wagtail admin (through the body's admin group). Adding
    them again changes nothing; a person works for one body."""
    membership, created = RegulatorMembership.objects.get_or_create(
        user=user, defaults={"body": body}
    )
    if not created and membership.body_id != body.pk:
        raise ValueError(
            _("%(user)s already works for %(body)s.") % {"user": user, "body": membership.body}
        )
    body_admin_group_sync(body=body)
    return membership


@transaction.atomic
def regulator_remove(*, user) -> None:
    """``user`` no longer works for a regulatory body: they lose what the role gave them."""
    membership = RegulatorMembership.objects.select_related("body").filter(user=user).first()
    if membership is None:
        return
    if membership.body.admin_group_id:
        user.groups.remove(membership.body.admin_group_id)
    membership.delete()


def _whole_number(text: str, *, line: int, column: str, problems: list[str]) -> int | None:
    cleaned = text.strip().replace(",", "").replace(" ", "").replace("_", "")
    if not cleaned.isdigit():
        problems.append(
            _("Line %(line)s: %(column)s must be a whole number, not “%(value)s”.")
            % {"line": line, "column": column, "value": text.strip()}
        )
        return None
    return int(cleaned)


def population_parse(content: bytes) -> list[PopulationRow]:
    """Read a population CSV (region, total population, children under 18) or raise
    :class:`PopulationFileError` listing every problem with its line number."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PopulationFileError(
            [_("The file is not UTF-8 text: save it as CSV (UTF-8).")]
        ) from None
    lines = list(csv.reader(io.StringIO(text)))
    if not lines:
        raise PopulationFileError([_("The file is empty.")])
    if len(lines) > POPULATION_MAX_LINES:
        raise PopulationFileError(
            [_("The file has more than %(n)s lines.") % {"n": POPULATION_MAX_LINES}]
        )
    header = [cell.strip().lower().replace(" ", "_") for cell in lines[0]]
    if header[:3] != list(POPULATION_COLUMNS):
        raise PopulationFileError(
            [
                _("Line 1: the header must be “%(expected)s”.")
                % {"expected": ",".join(POPULATION_COLUMNS)}
            ]
        )
    problems: list[str] = []
    rows: list[PopulationRow] = []
    seen: dict[str, int] = {}
    for number, cells in enumerate(lines[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != 3:
            problems.append(
                _("Line %(line)s: expected 3 values, found %(n)s.")
                % {"line": number, "n": len(cells)}
            )
            continue
        region = cells[0].strip()
        if not region:
            problems.append(_("Line %(line)s: the region is empty.") % {"line": number})
            continue
        if len(region) > 120:
            problems.append(
                _("Line %(line)s: the region's name is longer than 120 characters.")
                % {"line": number}
            )
            continue
        if region.lower() in seen:
            problems.append(
                _("Line %(line)s: %(region)s is already on line %(first)s.")
                % {"line": number, "region": region, "first": seen[region.lower()]}
            )
            continue
        seen[region.lower()] = number
        total = _whole_number(
            cells[1], line=number, column=_("total population"), problems=problems
        )
        children = _whole_number(
            cells[2], line=number, column=_("children under 18"), problems=problems
        )
        if total is None or children is None:
            continue
        if children > total:
            problems.append(
                _("Line %(line)s: there are more children (%(children)s) than people (%(total)s).")
                % {"line": number, "children": children, "total": total}
            )
            continue
        rows.append(PopulationRow(region=region, total_population=total, children=children))
    if problems:
        raise PopulationFileError(problems)
    if not rows:
        raise PopulationFileError([_("The file has no regions.")])
    return rows


@transaction.atomic
def population_replace(*, body: RegulatoryBody, content: bytes) -> list[PopulationFigure]:
    """Replace the body's population figures with the file's, all or nothing."""
    rows = population_parse(content)
    RegulatoryBody.objects.select_for_update().get(pk=body.pk)  # one upload at a time
    PopulationFigure.objects.filter(body=body).delete()
    transaction.on_commit(lambda: figures_cache.forget(body))
    return PopulationFigure.objects.bulk_create(
        PopulationFigure(
            body=body, region=r.region, total_population=r.total_population, children=r.children
        )
        for r in rows
    )


@transaction.atomic
def target_set(*, body: RegulatoryBody, children_per_worker: int | None) -> RegulatoryBody:
    if children_per_worker is not None and children_per_worker < 1:
        raise ValueError(_("The target must be at least one child per worker."))
    body.children_per_worker_target = children_per_worker
    body.save(update_fields=["children_per_worker_target"])
    transaction.on_commit(lambda: figures_cache.forget(body))
    return body


# --- CPD -------------------------------------------------------------------------------------

#: Days before a period ends that learners behind on a requirement are reminded.
CPD_REMINDER_DAYS = (60, 14)


@transaction.atomic
def requirement_create(
    *,
    body: RegulatoryBody,
    created_by,
    title: str,
    cadre: str,
    hours,
    period_start,
    period_end,
    competencies=(),
    domain=None,
) -> CpdRequirement:
    if period_end < period_start:
        raise ValueError(_("The period ends before it starts."))
    if hours <= 0:
        raise ValueError(_("The hours must be more than zero."))
    if domain is not None and domain.kind != "domain":
        raise ValueError(_("%(item)s is not a framework domain.") % {"item": domain})
    requirement = CpdRequirement.objects.create(
        body=body,
        created_by=created_by,
        title=title,
        cadre=cadre,
        hours=hours,
        period_start=period_start,
        period_end=period_end,
        domain=domain,
    )
    requirement.competencies.set(competencies)
    return requirement


@transaction.atomic
def requirement_delete(*, body: RegulatoryBody, requirement_id: int) -> None:
    CpdRequirement.objects.filter(body=body, pk=requirement_id).delete()


@transaction.atomic
def activity_submit(
    *, learner, institution, title, provider, done_on, hours, evidence, competencies=()
) -> CpdActivity:
    """Record an external activity, waiting for ``institution`` to approve it."""
    if hours <= 0:
        raise ValueError(_("The hours must be more than zero."))
    activity = CpdActivity.objects.create(
        learner=learner,
        institution=institution,
        title=title,
        provider=provider,
        done_on=done_on,
        hours=hours,
        evidence=evidence,
    )
    activity.competencies.set(competencies)
    return activity


def _pending_for_decision(*, activity_id: int, user) -> CpdActivity:
    from regulation import cpd

    activity = CpdActivity.objects.select_for_update().filter(pk=activity_id).first()
    if activity is None or not cpd.may_review(user=user, activity=activity):
        raise PermissionDenied(_("You may not judge this activity."))
    if activity.status != ActivityStatus.PENDING:
        raise ValueError(
            _("This activity was already judged: %(status)s.")
            % {"status": activity.get_status_display()}
        )
    return activity


@transaction.atomic
def activity_approve(*, activity_id: int, user) -> CpdActivity:
    """A supervisor or manager of the activity's institution approves it (once)."""
    activity = _pending_for_decision(activity_id=activity_id, user=user)
    activity.status, activity.decided_by, activity.decided_at = (
        ActivityStatus.APPROVED,
        user,
        timezone.now(),
    )
    activity.save(update_fields=["status", "decided_by", "decided_at"])
    return activity


@transaction.atomic
def activity_reject(*, activity_id: int, user, reason: str) -> CpdActivity:
    """Reject an activity, saying why (the learner sees the reason)."""
    reason = reason.strip()
    if not reason:
        raise ValueError(_("Say why the activity is rejected."))
    activity = _pending_for_decision(activity_id=activity_id, user=user)
    activity.status, activity.reason = ActivityStatus.REJECTED, reason
    activity.decided_by, activity.decided_at = user, timezone.now()
    activity.save(update_fields=["status", "reason", "decided_by", "decided_at"])
    return activity


def cpd_reminders_send(*, today=None) -> int:
    """Remind learners behind on a requirement 60 and 14 days before its period ends; each
    reminder once (a constraint), so the beat may run this as often as it likes."""
    from regulation import cpd

    today = today or timezone.localdate()
    sent = 0
    last = today + datetime.timedelta(days=max(CPD_REMINDER_DAYS))
    for requirement in CpdRequirement.objects.filter(
        period_end__gte=today, period_end__lte=last
    ).select_related("body"):
        lead = cpd.reminder_lead(requirement, today=today, leads=CPD_REMINDER_DAYS)
        if lead is None:
            continue
        profiles = cpd.workers_concerned(requirement)
        hours = cpd.hours_by_learner(requirement, learner_ids=profiles.values("user_id"))
        for profile in profiles.select_related("user"):
            done = sum(hours.get(profile.user_id, (0, 0)))
            if done >= requirement.hours:
                continue
            try:
                with transaction.atomic():
                    CpdReminder.objects.create(
                        requirement=requirement, learner_id=profile.user_id, days_before=lead
                    )
                    _remind(profile, requirement, done=done, days=lead)
            except IntegrityError:
                continue  # reminded already
            sent += 1
    return sent


def _remind(profile, requirement, *, done, days: int) -> None:
    address = profile.user.email
    if not address:
        return
    from lms.tasks import send_email

    with translation.override(profile.preferred_language):
        message = {
            "subject": _("%(days)s days left for your CPD: %(title)s")
            % {"days": days, "title": requirement.title},
            "body": render_to_string(
                "regulation/email/cpd_reminder.txt",
                {"requirement": requirement, "done": done, "days": days, "profile": profile},
            ),
            "to": [address],
        }
    transaction.on_commit(lambda: send_email.delay(message))


# --- Regulator API keys ------------------------------------------------------------------------

#: What every regulator key begins with (an institution's begins with another word).
REGULATOR_KEY_PREFIX = "sswreg"
_KEY_ID = re.compile(r"^[0-9a-f]{12}$")
#: How stale a key's "last used" may be before a request writes it again.
KEY_TOUCH_INTERVAL = datetime.timedelta(minutes=5)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def regulator_api_key_create(
    *, body: RegulatoryBody, name: str, created_by
) -> tuple[RegulatorApiKey, str]:
    """Create a key of ``body``; return it with its secret, never stored nor shown again."""
    name = name.strip()
    if not name:
        raise ValueError(_("Name the system that will use the key."))
    prefix = secrets.token_hex(6)
    key = f"{REGULATOR_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = RegulatorApiKey.objects.create(
        body=body, name=name[:100], prefix=prefix, key_digest=_digest(key), created_by=created_by
    )
    return api_key, key


@transaction.atomic
def regulator_api_key_revoke(*, body: RegulatoryBody, key_id: int) -> None:
    """Revoke one of ``body``'s keys at once (another body's key is left alone)."""
    RegulatorApiKey.objects.filter(body=body, pk=key_id, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def regulator_api_key_authenticate(*, key: str) -> RegulatorApiKey | None:
    """The active key matching ``key`` (noting its use), or None."""
    parts = key.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != REGULATOR_KEY_PREFIX or not _KEY_ID.match(parts[1]):
        return None
    api_key = (
        RegulatorApiKey.objects.select_related("body")
        .filter(prefix=parts[1], revoked_at__isnull=True)
        .first()
    )
    if api_key is None or not secrets.compare_digest(api_key.key_digest, _digest(key)):
        return None
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > KEY_TOUCH_INTERVAL:
        RegulatorApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    return api_key
