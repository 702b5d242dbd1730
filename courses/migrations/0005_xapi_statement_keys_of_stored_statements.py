"""Give the statements stored before 0004 their query keys (XapiStatementKey).

A frozen copy of courses.xapi.statement_keys as it was when this migration was written, so
that later changes to the code do not change what this migration does.
"""

from django.db import migrations

IFI_KEYS = ("mbox", "mbox_sha1sum", "openid", "account")
BATCH = 500


def _ifi(agent):
    for key in IFI_KEYS:
        if key in agent:
            value = agent[key]
            if key == "mbox":
                return f"mbox:{value.lower()}"
            if key == "mbox_sha1sum":
                return f"mbox_sha1sum:{value.lower()}"
            if key == "openid":
                return f"openid:{value}"
            return f"account:{value.get('homePage')}|{value.get('name')}"
    return None


def _agent_keys(agent):
    if not isinstance(agent, dict):
        return []
    own = _ifi(agent)
    keys = [own] if own else []
    for member in agent.get("member") or ():
        keys += _agent_keys(member)
    return keys


def _activity_ids(context):
    if not isinstance(context, dict) or not isinstance(context.get("contextActivities"), dict):
        return []
    ids = []
    for items in context["contextActivities"].values():
        for item in items if isinstance(items, list) else [items]:
            if isinstance(item, dict) and "id" in item:
                ids.append(item["id"])
    return ids


def _context_agents(context):
    if not isinstance(context, dict):
        return []
    return _agent_keys(context.get("instructor")) + _agent_keys(context.get("team"))


def statement_keys(raw, authority):
    keys = {}

    def add(kind, values, related):
        for value in values:
            key = (kind, value[:600])
            keys[key] = keys.get(key, True) and related

    def add_object(target, related):
        if not isinstance(target, dict):
            return
        object_type = target.get("objectType", "Activity")
        if object_type == "Activity" and "id" in target:
            add("activity", [target["id"]], related)
        elif object_type in ("Agent", "Group"):
            add("agent", _agent_keys(target), related)
        elif object_type == "SubStatement":
            add("agent", _agent_keys(target.get("actor")), True)
            add_object(target.get("object"), True)
            add("agent", _context_agents(target.get("context")), True)
            add("activity", _activity_ids(target.get("context")), True)

    add("agent", _agent_keys(raw.get("actor")), False)
    add_object(raw.get("object"), False)
    add("agent", _agent_keys(authority), True)
    add("agent", _context_agents(raw.get("context")), True)
    add("activity", _activity_ids(raw.get("context")), True)
    return keys


def add_keys(apps, schema_editor):
    XapiStatement = apps.get_model("courses", "XapiStatement")
    XapiStatementKey = apps.get_model("courses", "XapiStatementKey")
    statements = XapiStatement.objects.order_by("pk")  # none has keys: 0004 made the table
    rows = []
    for statement in statements.only("pk", "institution_id", "raw", "authority").iterator(
        chunk_size=BATCH
    ):
        for (kind, key), related in statement_keys(statement.raw, statement.authority).items():
            rows.append(
                XapiStatementKey(
                    statement_id=statement.pk,
                    institution_id=statement.institution_id,
                    kind=kind,
                    key=key,
                    related=related,
                )
            )
        if len(rows) >= BATCH:
            XapiStatementKey.objects.bulk_create(rows)
            rows = []
    XapiStatementKey.objects.bulk_create(rows)


class Migration(migrations.Migration):
    dependencies = [
        ("courses", "0004_xapi_statement_keys_and_attachments"),
    ]

    operations = [
        # Reversing 0004 drops the keys with their table.
        migrations.RunPython(add_keys, migrations.RunPython.noop),
    ]
