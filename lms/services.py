"""Writes of the core app: institutions, roles, learner profiles, API keys.

Roles are kept in two places on purpose: :class:`Membership` rows say who holds which role,
and Django groups carry the permissions Wagtail checks. These services keep both in step.
"""

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.signals import request_finished, request_started
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from wagtail.models import Collection, GroupCollectionPermission, GroupPagePermission, Page

from lms.models import (
    ApiKey,
    DeliveryStatus,
    Institution,
    InstitutionGroup,
    LearnerIdentity,
    LearnerProfile,
    Membership,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
)
from lms.roles import (
    ADMIN_ROLES,
    COLLECTION_PERMISSIONS,
    PAGE_PERMISSIONS,
    REGULATORS_GROUP,
    InstitutionRole,
)

API_KEY_PREFIX = "sswk"
#: The public part of a key (``api_key_create``'s ``token_hex(6)``): anything else is no key,
#: and never reaches a query (where a NUL character would be refused by PostgreSQL).
API_KEY_ID = re.compile(r"[0-9a-f]{12}")
#: How stale ``last_used_at`` may get before a request writes it again.
API_KEY_TOUCH_INTERVAL = timedelta(minutes=1)


@transaction.atomic
def institution_create(
    *,
    name: str,
    country: str,
    slug: str = "",
    accreditation_number: str = "",
    signatory_name: str = "",
    signatory_title: str = "",
) -> Institution:
    """Create an institution with its media collection and one group per role."""
    institution = Institution.objects.create(
        name=name,
        slug=slug or slugify(name)[:80],
        country=country.upper(),
        accreditation_number=accreditation_number,
        signatory_name=signatory_name,
        signatory_title=signatory_title,
    )
    root_collection = Collection.get_first_root_node()
    institution.collection = root_collection.add_child(name=name)
    institution.save(update_fields=["collection"])
    institution_permissions_sync(institution=institution)
    return institution


@transaction.atomic
def institution_root_page_set(*, institution: Institution, page: Page) -> Institution:
    """Make ``page`` the institution's section of the site and grant its staff rights on it."""
    institution.root_page = page
    institution.save(update_fields=["root_page"])
    institution_permissions_sync(institution=institution)
    return institution


@transaction.atomic
def institution_permissions_sync(*, institution: Institution) -> None:
    """(Re)create the institution's role groups and their Wagtail permissions. Idempotent."""
    access_admin = Permission.objects.get(
        content_type__app_label="wagtailadmin", codename="access_admin"
    )
    for role in InstitutionRole:
        group = _institution_group(institution=institution, role=role)
        if role in ADMIN_ROLES:
            group.permissions.add(access_admin)
        else:
            group.permissions.remove(access_admin)
        if institution.root_page_id:
            GroupPagePermission.objects.filter(group=group).exclude(
                page_id=institution.root_page_id
            ).delete()
            for codename in PAGE_PERMISSIONS[role]:
                GroupPagePermission.objects.get_or_create(
                    group=group,
                    page_id=institution.root_page_id,
                    permission=Permission.objects.get(
                        content_type__app_label="wagtailcore", codename=codename
                    ),
                )
        if institution.collection_id:
            for dotted in COLLECTION_PERMISSIONS[role]:
                app_label, codename = dotted.split(".")
                GroupCollectionPermission.objects.get_or_create(
                    group=group,
                    collection_id=institution.collection_id,
                    permission=Permission.objects.get(
                        content_type__app_label=app_label, codename=codename
                    ),
                )


def _institution_group(*, institution: Institution, role: str) -> Group:
    link = (
        InstitutionGroup.objects.select_related("group")
        .filter(institution=institution, role=role)
        .first()
    )
    if link:
        return link.group
    label = InstitutionRole(role).label
    group, _ = Group.objects.get_or_create(name=f"{institution.name} · {label}"[:150])
    InstitutionGroup.objects.create(institution=institution, role=role, group=group)
    return group


@transaction.atomic
def membership_grant(*, user, institution: Institution, role: str) -> Membership:
    """Give ``user`` a role at ``institution``. Granting a role held already changes nothing."""
    role = InstitutionRole(role)
    membership, _ = Membership.objects.get_or_create(user=user, institution=institution, role=role)
    user.groups.add(_institution_group(institution=institution, role=role))
    return membership


@transaction.atomic
def membership_revoke(*, user, institution: Institution, role: str) -> None:
    """Take a role away, with the permissions that came with it."""
    Membership.objects.filter(user=user, institution=institution, role=role).delete()
    user.groups.remove(_institution_group(institution=institution, role=role))


@transaction.atomic
def regulator_grant(*, user) -> None:
    """Make ``user`` a regulator: read-only access across all institutions."""
    group, _ = Group.objects.get_or_create(name=REGULATORS_GROUP)
    group.permissions.add(
        Permission.objects.get(content_type__app_label="wagtailadmin", codename="access_admin")
    )
    user.groups.add(group)


@transaction.atomic
def learner_profile_save(*, user, **fields) -> LearnerProfile:
    """Create or update the learner's profile with ``fields`` (validated by the caller's form)."""
    profile, created = LearnerProfile.objects.get_or_create(user=user, defaults=fields)
    if not created:
        for name, value in fields.items():
            setattr(profile, name, value)
        profile.save(update_fields=[*fields, "updated_at"])
    return profile


# --- Learners known to another LMS by its own id -------------------------------------------

#: An external id travels in URL paths (``/api/v1/learners/<id>``): no slashes, no spaces (and
#: no NUL character, which no text we store may hold).
EXTERNAL_ID_PATTERN = r"^[^/\s\x00]{1,100}$"
#: Profile fields another LMS may set, with the values a new profile starts from.
LEARNER_PROFILE_FIELDS = (
    "cadre",
    "is_paid",
    "sector",
    "organisation",
    "country",
    "region",
    "district",
    "worker_registration_number",
    "preferred_language",
)


class LearnerIdentityError(Exception):
    """A learner that cannot be created or matched.

    ``problems`` names each problem as (the field it is about, or "", the message);
    ``errors`` reads them as ``"field: message"``.
    """

    def __init__(self, problems: list[tuple[str, str]], *, status: int = 400):
        self.problems = problems
        self.errors = [f"{field}: {message}" if field else message for field, message in problems]
        super().__init__("; ".join(self.errors))
        self.status = status


@dataclass(frozen=True)
class MatchedLearner:
    identity: LearnerIdentity
    created: bool  # False: the external id was known already (its profile may be updated)


def learner_match_or_create(
    *,
    institution: Institution,
    external_id: str,
    full_name: str | None = None,
    email: str | None = None,
    username: str | None = None,
    **profile_fields,
) -> MatchedLearner:
    """Find the institution's learner with ``external_id``, or create their account and profile.

    Idempotent: calling again with the same external id returns the same learner, updating
    only the profile fields given (the LMS is the source of its learners' details; the
    account's username and e-mail are never changed here). Race-safe: the unique constraint
    on (institution, external_id) lets one of two parallel creations win; the other returns
    the winner's learner.

    A new account is never matched to an existing one by e-mail, username or registration
    number: that would let an institution take over someone's records. Such a clash is
    refused (status 409) with a message. The account has no password: with an e-mail address,
    the learner can set one through "forgot password".
    """
    external_id = (external_id or "").strip()
    if not re.match(EXTERNAL_ID_PATTERN, external_id):
        raise LearnerIdentityError(
            [("external_id", _("use 1 to 100 characters without slashes or spaces."))]
        )
    unknown = set(profile_fields) - set(LEARNER_PROFILE_FIELDS)
    if unknown:
        raise LearnerIdentityError(
            [("", _("Unknown profile fields: %s") % ", ".join(sorted(unknown)))]
        )
    if full_name is not None:
        profile_fields["full_name"] = full_name
    identity = _learner_identity(institution=institution, external_id=external_id)
    if identity is not None:
        _learner_profile_update(user=identity.user, institution=institution, fields=profile_fields)
        return MatchedLearner(identity, created=False)
    try:
        with transaction.atomic():
            user = _learner_account_create(institution=institution, email=email, username=username)
            _learner_profile_update(user=user, institution=institution, fields=profile_fields)
            identity = LearnerIdentity.objects.create(
                institution=institution, external_id=external_id, user=user
            )
    except IntegrityError:
        # A parallel request created this external id first (or took the username or
        # registration number a moment ago): match theirs, or say what clashed.
        identity = _learner_identity(institution=institution, external_id=external_id)
        if identity is None:
            raise LearnerIdentityError(
                [("", _("The account clashed with one registered at the same moment; try again."))],
                status=409,
            ) from None
        _learner_profile_update(user=identity.user, institution=institution, fields=profile_fields)
        return MatchedLearner(identity, created=False)
    return MatchedLearner(identity, created=True)


def _learner_identity(*, institution: Institution, external_id: str) -> LearnerIdentity | None:
    return (
        LearnerIdentity.objects.select_related("user", "user__learner_profile", "institution")
        .filter(institution=institution, external_id=external_id)
        .first()
    )


def _learner_account_create(*, institution: Institution, email: str | None, username: str | None):
    from allauth.account.models import EmailAddress

    User = get_user_model()
    email = (email or "").strip().lower()
    username = (username or "").strip()
    invalid = _account_fields_invalid(User, email=email, username=username)
    if invalid:
        raise LearnerIdentityError(invalid)
    errors = []
    if email:
        taken = User.objects.annotate(email_lower=Lower("email")).filter(email_lower=email)
        if taken.exists() or EmailAddress.objects.filter(email__iexact=email).exists():
            errors.append(("email", _("another account already uses '%s'.") % email))
    if username:
        taken = User.objects.annotate(name_lower=Lower("username"))
        if taken.filter(name_lower=username.lower()).exists():
            errors.append(("username", _("'%s' is already taken.") % username))
    else:
        username = f"{institution.slug}-{secrets.token_hex(5)}"
    if errors:
        raise LearnerIdentityError(errors, status=409)
    user = User.objects.create_user(username=username, email=email, password=None)
    if email:
        EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
    return user


def _account_fields_invalid(User, *, email: str, username: str) -> list[tuple[str, str]]:
    """What the account model would refuse in ``email`` and ``username`` (its own validators,
    its field lengths), so that nothing reaches the database that it cannot store."""
    problems = []
    for name, value in (("email", email), ("username", username)):
        if not value:
            continue
        try:
            User._meta.get_field(name).run_validators(value)
        except ValidationError as error:
            problems.extend((name, message) for message in error.messages)
    return problems


def _learner_profile_update(*, user, institution: Institution, fields: dict) -> None:
    """Validate ``fields`` as the profile form does (with the current profile for the rest)."""
    from lms.forms import LearnerProfileForm

    profile = LearnerProfile.objects.filter(user=user).first()
    if profile is not None and all(getattr(profile, k) == v for k, v in fields.items()):
        return
    data = {"country": institution.country, "preferred_language": "en", "is_paid": False}
    if profile is not None:
        data.update({name: getattr(profile, name) for name in LearnerProfileForm.Meta.fields})
    data.update({k: v for k, v in fields.items() if v is not None})
    form = LearnerProfileForm(data=data, instance=profile)
    if not form.is_valid():
        raise LearnerIdentityError(
            [(name, message) for name, messages in form.errors.items() for message in messages],
            status=409 if "worker_registration_number" in form.errors else 400,
        )
    learner_profile_save(
        user=user, **{name: form.cleaned_data[name] for name in LearnerProfileForm.Meta.fields}
    )


def _api_key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, institution: Institution, name: str, created_by) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is never stored nor shown again."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = f"{API_KEY_PREFIX}_{prefix}_{secret}"
    api_key = ApiKey.objects.create(
        institution=institution,
        name=name.strip(),
        prefix=prefix,
        key_digest=_api_key_digest(key),
        created_by=created_by,
    )
    return api_key, key


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, revoked_by) -> ApiKey:
    """Revoke a key at once; revoking it again keeps the first revocation's time.

    The key leaves the cache now and again when the revocation commits (a request between
    the two may have put the not-yet-revoked row back), so no process accepts it afterwards.
    """
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by=revoked_by
    )
    api_key.refresh_from_db(fields=["revoked_at", "revoked_by", "key_digest"])
    cache_key = _api_key_cache_key(api_key.key_digest)
    cache.delete(cache_key)
    transaction.on_commit(lambda: cache.delete(cache_key))
    return api_key


#: How long an authenticated key is remembered (see :func:`api_key_authenticate`).
API_KEY_CACHE_SECONDS = 30


def _cache_is_shared() -> bool:
    """Whether the Django cache is one all processes share (Redis), not one per process."""
    backend = settings.CACHES["default"]["BACKEND"]
    return not backend.endswith(("LocMemCache", "DummyCache"))


def _api_key_cache_seconds() -> int:
    """``settings.API_KEY_CACHE_SECONDS`` if set; otherwise 30 s with a cache all processes
    share (Redis), and 0 (no caching) with a per-process one, which a revocation in another
    process could not reach."""
    configured = getattr(settings, "API_KEY_CACHE_SECONDS", None)
    if configured is not None:
        return configured
    return API_KEY_CACHE_SECONDS if _cache_is_shared() else 0


def _api_key_cache_key(digest: str) -> str:
    return f"api-key:{digest}"


def api_key_authenticate(*, key: str) -> ApiKey | None:
    """Return the active key matching ``key`` (and note its use), or None.

    The key found is kept in the cache for a few seconds under its digest (the secret itself
    is never stored), saving a query per request; :func:`api_key_revoke` deletes it, so a
    revoked key is refused at once by every process sharing the cache.
    """
    parts = key.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or not API_KEY_ID.fullmatch(parts[1]):
        return None
    digest = _api_key_digest(key)
    seconds = _api_key_cache_seconds()
    cache_key = _api_key_cache_key(digest)
    api_key = cache_get_in_request(cache_key) if seconds else None
    if api_key is None:
        api_key = (
            ApiKey.objects.select_related("institution")
            .filter(prefix=parts[1], revoked_at__isnull=True)
            .first()
        )
        if api_key is None or not secrets.compare_digest(api_key.key_digest, digest):
            return None
        if seconds:
            cache.set(cache_key, api_key, seconds)
    elif not secrets.compare_digest(api_key.key_digest, digest):
        return None
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > API_KEY_TOUCH_INTERVAL:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
        if seconds:
            cache.set(cache_key, api_key, seconds)
    return api_key


# --- Copies of rarely changing data, kept by each process ------------------------------------
# The progress path reads things that change far less often than events arrive (a course's
# structure, an institution's webhooks). Each process keeps what it read under a generation
# token in the shared cache; whatever changes the data calls ``changed()``, which replaces the
# token when its transaction commits, so every process reads the data again on next use.


def progress_caches_enabled() -> bool:
    """``settings.PROGRESS_CACHES`` if set; otherwise on with a cache all processes share
    (Redis) and off with a per-process one, through which a change made in another process
    could not be told."""
    configured = getattr(settings, "PROGRESS_CACHES", None)
    return _cache_is_shared() if configured is None else configured


class CacheGeneration:
    """A token in the Django cache naming the current state of some data, and this process's
    copy of what it read of that state.

    :meth:`memo` gives the copy (a dict the reader fills as it reads) for the current token,
    or a new empty one when nothing may be kept: caches are off, or this thread's transaction
    holds a change of the data not committed yet (it must read its own change, and what it
    read must not outlive a rollback). :meth:`changed` is called on every change of the data
    (by signal receivers, and by services that write without signals); the token is replaced
    when the change commits, and this process's copy is dropped at once. A copy is also
    dropped after :data:`MAX_AGE` seconds, in case a process died between a commit and its
    new token, and started afresh once it holds :data:`MAX_ENTRIES` entries (clients choose
    what is looked up, such as activity IRIs). A request reads the tokens of every generation
    once, in one round trip, and another process's change is seen from its next request
    (docs/decisions/0010).
    """

    MAX_AGE = 600
    MAX_ENTRIES = 20_000
    #: Every generation, so that a request reads all their tokens in one round trip.
    instances: list["CacheGeneration"] = []

    def __init__(self, name: str):
        self.key = f"generation:{name}"
        self._copy: tuple[str, float, dict] | None = None
        CacheGeneration.instances.append(self)

        def cache_generation_bump():  # named: Django logs robust on-commit failures by name
            cache.set(self.key, uuid.uuid4().hex, timeout=None)
            self._copy = None

        self._bump = cache_generation_bump

    def changed(self) -> None:
        if not progress_caches_enabled():
            return
        if not self._pending():
            transaction.on_commit(self._bump, robust=True)  # at once outside a transaction

    def memo(self) -> dict:
        if not progress_caches_enabled() or self._pending():
            return {}
        token = self._token()
        copy, now = self._copy, time.monotonic()
        if (
            copy is None
            or copy[0] != token
            or now - copy[1] > self.MAX_AGE
            or len(copy[2]) >= self.MAX_ENTRIES
        ):
            copy = self._copy = (token, now, {})
        return copy[2]

    def _token(self) -> str:
        """The current token. Within a request, every generation's token is read in one
        round trip on first use and kept until the request ends; outside one, on each use."""
        tokens = _request_tokens()
        if tokens is not None and self.key not in tokens:
            _generation_tokens_read(tokens)
        token = cache.get(self.key) if tokens is None else tokens[self.key]
        if token is None:
            cache.add(self.key, uuid.uuid4().hex, timeout=None)
            token = cache.get(self.key)
            if tokens is not None:
                tokens[self.key] = token
        return token

    def _pending(self) -> bool:
        """Whether this thread's transaction changed the data: its new token awaits commit in
        the connection's on-commit callbacks (which a rollback drops)."""
        connection = transaction.get_connection()
        return connection.in_atomic_block and any(
            func is self._bump for _savepoints, func, _robust in connection.run_on_commit
        )


_request_state = threading.local()


def _request_tokens() -> dict | None:
    """The generation tokens this thread's current request has read, or None outside a
    request (a task, a command, a shell: every use reads the token afresh)."""
    return getattr(_request_state, "generation_tokens", None)


def _generation_tokens_read(tokens: dict, *, also: str | None = None):
    """Read every generation's token into ``tokens`` in one round trip; with ``also``, that
    cache key's value too, which is returned."""
    keys = [generation.key for generation in CacheGeneration.instances]
    found = cache.get_many(keys if also is None else [also, *keys])
    tokens.update({key: found.get(key) for key in keys})
    return found.get(also)


def cache_get_in_request(key: str):
    """``cache.get(key)``; within a request, in the round trip that reads the generation
    tokens, which nearly every API request needs next (see :class:`CacheGeneration`)."""
    tokens = _request_tokens()
    if tokens is None or tokens:
        return cache.get(key)
    return _generation_tokens_read(tokens, also=key)


@receiver(request_started)
def _generation_tokens_begin(**kwargs) -> None:
    _request_state.generation_tokens = {}


@receiver(request_finished)
def _generation_tokens_end(**kwargs) -> None:
    _request_state.generation_tokens = None


# --- Outbound webhooks ----------------------------------------------------------------------
# An institution's endpoints hear about its learners' progress. Deliveries are logged rows,
# written in the transaction of the event and sent by lms.tasks.deliver_webhook after commit.

WEBHOOK_SECRET_PREFIX = "whsec"
WEBHOOK_TIMEOUT_SECONDS = 10
SIGNATURE_HEADER = "X-SSW-Signature"
EVENT_HEADER = "X-SSW-Event"
DELIVERY_HEADER = "X-SSW-Delivery"


class WebhookError(Exception):
    pass


class WebhookDeliveryError(WebhookError):
    """The endpoint answered, but not with a 2xx status: the delivery is retried."""


@transaction.atomic
def webhook_create(
    *, institution: Institution, url: str, events: list[str] | None = None
) -> tuple[Webhook, str]:
    """Create a webhook and return it with its signing secret, to show the manager once."""
    url = url.strip()
    try:
        URLValidator(schemes=["https", "http"])(url)
    except ValidationError:
        raise WebhookError(_("Enter an http:// or https:// URL.")) from None
    events = list(dict.fromkeys(events)) if events else list(WebhookEvent.values)
    unknown = sorted(set(events) - set(WebhookEvent.values))
    if unknown:
        raise WebhookError(_("Unknown events: %s") % ", ".join(unknown))
    secret = f"{WEBHOOK_SECRET_PREFIX}_{secrets.token_urlsafe(32)}"
    webhook = Webhook.objects.create(institution=institution, url=url, secret=secret, events=events)
    return webhook, secret


def webhook_set_active(*, webhook: Webhook, active: bool) -> Webhook:
    """Pause or resume a webhook; paused ones are sent nothing (pending deliveries fail)."""
    Webhook.objects.filter(pk=webhook.pk).update(active=active)
    WEBHOOKS.changed()  # an update sends no signal
    webhook.active = active
    return webhook


#: The active webhooks of each institution, as each process last read them.
WEBHOOKS = CacheGeneration("webhooks")


@receiver(post_save, sender=Webhook, dispatch_uid="lms.webhooks_changed_on_save")
@receiver(post_delete, sender=Webhook, dispatch_uid="lms.webhooks_changed_on_delete")
def _webhooks_changed(sender, **kwargs) -> None:
    WEBHOOKS.changed()


def _active_webhooks(institution_ids: Iterable[int]) -> dict[int, list[tuple[int, tuple]]]:
    """Each institution's active webhooks as ``(id, events)``, oldest first; one query for the
    institutions this process has not read since their webhooks last changed, else none."""
    memo = WEBHOOKS.memo()
    missing = {pk for pk in institution_ids if pk not in memo}
    if missing:
        found: dict[int, list[tuple[int, tuple]]] = {pk: [] for pk in missing}
        for pk, institution_id, events in (
            Webhook.objects.filter(institution__in=missing, active=True)
            .order_by("created_at", "pk")
            .values_list("pk", "institution_id", "events")
        ):
            found[institution_id].append((pk, tuple(events)))
        memo.update(found)
    return {pk: memo[pk] for pk in institution_ids}


def webhook_signature(*, secret: str, body: bytes) -> str:
    """The value of ``X-SSW-Signature``: an HMAC-SHA256 of the exact body bytes, in hex."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhooks_dispatch(
    *, institution: Institution | int | QuerySet | None, event: str, payload: dict
) -> list[WebhookDelivery]:
    """Log a delivery of ``event`` to each of the institution's active webhooks that wants it,
    and send each once the caller's transaction commits (nothing is sent if it rolls back).

    ``institution`` may be a one-column subquery of its id, so callers that know the
    institution only through other rows spend a single query here.
    """
    from lms.tasks import deliver_webhook

    if institution is None:
        return []
    if isinstance(institution, QuerySet):
        webhooks = [
            (webhook.pk, webhook.events)
            for webhook in Webhook.objects.filter(institution=institution, active=True)
        ]
    else:
        institution_id = getattr(institution, "pk", institution)
        webhooks = _active_webhooks([institution_id])[institution_id]
    wanted = [pk for pk, events in webhooks if event in events]
    if not wanted:
        return []
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(webhook_id=pk, event=event, payload=payload) for pk in wanted
    )
    for delivery in deliveries:
        # robust: with eager tasks (dev, tests) a failing endpoint must not fail the caller.
        transaction.on_commit(_send_later(deliver_webhook, delivery.pk), robust=True)
    return deliveries


@dataclass(frozen=True)
class WebhookNotice:
    """One event for :func:`webhooks_dispatch_many`. ``payload`` may be a callable that builds
    it: it is called only when one of the institution's webhooks wants the event."""

    institution_id: int | None
    event: str
    payload: dict | Callable[[], dict]


def webhooks_dispatch_many(*, notices: Iterable[WebhookNotice]) -> list[WebhookDelivery]:
    """:func:`webhooks_dispatch` for many events at once, in order: one query finds the
    webhooks of all the institutions named (none when this process knows them already, see
    :data:`WEBHOOKS`), one insert logs every delivery.

    Payloads given as callables are built only for events some webhook wants, so a batch
    whose institutions have no webhook costs one query and builds nothing.
    """
    from lms.tasks import deliver_webhook

    notices = [notice for notice in notices if notice.institution_id is not None]
    if not notices:
        return []
    webhooks_of = _active_webhooks({notice.institution_id for notice in notices})
    deliveries = []
    for notice in notices:
        wanted = [pk for pk, events in webhooks_of[notice.institution_id] if notice.event in events]
        if not wanted:
            continue
        payload = notice.payload() if callable(notice.payload) else notice.payload
        deliveries.extend(
            WebhookDelivery(webhook_id=pk, event=notice.event, payload=payload) for pk in wanted
        )
    if not deliveries:
        return []
    deliveries = WebhookDelivery.objects.bulk_create(deliveries)
    for delivery in deliveries:
        transaction.on_commit(_send_later(deliver_webhook, delivery.pk), robust=True)
    return deliveries


def _send_later(task, delivery_id: int):
    def send_webhook_delivery():  # named: Django logs robust on-commit failures by name
        task.delay(delivery_id)

    return send_webhook_delivery


def webhook_body(*, delivery: WebhookDelivery) -> bytes:
    """The request body: the same bytes on every attempt, so a signature can be checked."""
    envelope = {
        "id": str(delivery.uuid),
        "event": delivery.event,
        "created_at": delivery.created_at.isoformat(),
        "data": delivery.payload,
    }
    return json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode()


def webhook_deliver(*, delivery_id: int, final: bool = False) -> WebhookDelivery | None:
    """Send one delivery. Idempotent: a delivered one is not sent again.

    Raises ``requests.RequestException`` or :class:`WebhookDeliveryError` when the endpoint
    cannot be reached or refuses, for the task to retry; ``final`` marks the last attempt,
    after which the delivery is logged as failed. No transaction is held open during the request.
    """
    import requests

    delivery = WebhookDelivery.objects.select_related("webhook").filter(pk=delivery_id).first()
    if delivery is None or delivery.status == DeliveryStatus.DELIVERED:
        return delivery
    webhook = delivery.webhook
    if not webhook.active:
        delivery.status, delivery.last_error = DeliveryStatus.FAILED, _("The webhook is disabled.")
        delivery.save(update_fields=["status", "last_error"])
        return delivery
    body = webhook_body(delivery=delivery)
    delivery.attempts += 1
    try:
        response = requests.post(
            webhook.url,
            data=body,
            headers={
                "Content-Type": "application/json",
                SIGNATURE_HEADER: webhook_signature(secret=webhook.secret, body=body),
                EVENT_HEADER: delivery.event,
                DELIVERY_HEADER: str(delivery.uuid),
            },
            timeout=WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
        if not 200 <= response.status_code < 300:
            raise WebhookDeliveryError(f"HTTP {response.status_code}: {response.text[:500]}")
    except (requests.RequestException, WebhookDeliveryError) as error:
        delivery.last_error = str(error)[:2000] or error.__class__.__name__
        if final:
            delivery.status = DeliveryStatus.FAILED
        delivery.save(update_fields=["attempts", "last_error", "status"])
        raise
    delivery.status, delivery.delivered_at, delivery.last_error = (
        DeliveryStatus.DELIVERED,
        timezone.now(),
        "",
    )
    delivery.save(update_fields=["attempts", "status", "delivered_at", "last_error"])
    return delivery
