"""The Statement Resource's queries: filters, the voiding statements they bring, and pages."""

import operator
from functools import reduce
from urllib.parse import urlencode

from django.db.models import Q, QuerySet

from courses.models import XapiKeyKind
from courses.xapi.common import VOIDED, XapiError, json_parse
from courses.xapi.storage import statements_about_condition
from courses.xapi.validation import iri_check, parse_timestamp, parse_uuid, validate_agent
from lms.models import Institution

#: Most statements one GET returns (``limit=0`` means this many too).
MAX_LIMIT = 500


def bool_param(params, name: str) -> bool:
    value = params.get(name, "false").lower()
    if value not in ("true", "false"):
        raise XapiError(f"{name}: must be true or false, not '{params[name]}'.")
    return value == "true"


def int_param(value: str, name: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise XapiError(f"{name}: must be a whole number.") from None
    if number < 0:
        raise XapiError(f"{name}: must not be negative.")
    return number


def _matching(params, institution: Institution) -> Q | None:
    """The condition of the agent, verb, activity and registration filters, or None when no
    such filter is given."""
    conditions = []
    if "agent" in params:
        agent = json_parse(params["agent"], "agent")
        key = validate_agent(agent, "agent")
        if key is None:
            raise XapiError("agent: needs an inverse functional identifier.")
        conditions.append(
            statements_about_condition(
                institution=institution,
                kind=XapiKeyKind.AGENT,
                key=key,
                related=bool_param(params, "related_agents"),
            )
        )
    if "verb" in params:
        conditions.append(Q(verb_iri=iri_check(params["verb"], "verb")))
    if "activity" in params:
        activity = iri_check(params["activity"], "activity")
        if bool_param(params, "related_activities"):
            conditions.append(
                statements_about_condition(
                    institution=institution,
                    kind=XapiKeyKind.ACTIVITY,
                    key=activity,
                    related=True,
                )
            )
        else:
            conditions.append(Q(activity_iri=activity))
    if "registration" in params:
        registration = parse_uuid(params["registration"], "registration")
        conditions.append(Q(raw__context__registration=str(registration)))
    if not conditions:
        return None
    return reduce(operator.and_, conditions)


def statements_page(params, own: QuerySet, *, institution: Institution, path: str, render):
    """The StatementResult of a query: a page of statements and the URL of the next.

    The filters also bring the statements that void a statement they match (Data 2.3.2 /
    Communication 2.1.3: a voiding statement is returned with what it targets), though the
    voiding statement itself may not match them; ``since``, ``until`` and the page apply to
    what is returned."""
    for name in ("related_agents", "related_activities"):
        bool_param(params, name)  # checked even where it has nothing to widen
    queryset = own.filter(voided=False)
    matching = _matching(params, institution)
    if matching is not None:
        # A voiding statement is found by its verb (an index) and its target among the
        # voided statements the filters match.
        voided_matching = own.filter(matching, voided=True).values("statement_id")
        queryset = queryset.filter(matching | Q(verb_iri=VOIDED, voids__in=voided_matching))
    if "since" in params:
        queryset = queryset.filter(stored__gt=parse_timestamp(params["since"], "since"))
    if "until" in params:
        queryset = queryset.filter(stored__lte=parse_timestamp(params["until"], "until"))
    ascending = bool_param(params, "ascending")
    limit = int_param(params.get("limit", "0"), "limit")
    limit = MAX_LIMIT if limit == 0 else min(limit, MAX_LIMIT)
    if "cursor" in params:
        cursor = int_param(params["cursor"], "cursor")
        queryset = queryset.filter(pk__gt=cursor) if ascending else queryset.filter(pk__lt=cursor)
    # The primary key follows the order statements were stored in, and pages on it never skip
    # nor repeat a statement stored while a client is paging.
    page = list(queryset.order_by("pk" if ascending else "-pk")[: limit + 1])
    more = ""
    if len(page) > limit:
        page = page[:limit]
        query = {k: v for k, v in params.items() if k != "cursor"}
        query["cursor"] = str(page[-1].pk)
        more = f"{path}?{urlencode(query)}"
    return {"statements": [render(stored) for stored in page], "more": more}
