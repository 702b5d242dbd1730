"""The lms app's signal, and its receivers, connected in :meth:`LmsConfig.ready`, each with
its sender where the signal has one that names the data (a request's signals are sent by
whichever handler serves it, so those are connected for every sender)."""

from django.core.signals import request_finished, request_started
from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal

from lms.caches import WEBHOOKS, request_begins, request_ends
from lms.models import Webhook

#: Sent inside the transaction that logged webhook deliveries, with ``delivery_ids``: each is
#: sent after commit (``lms.tasks.deliveries_send_after_commit``), none if it rolls back.
webhook_deliveries_logged = Signal()


def webhooks_changed(sender, **kwargs) -> None:
    WEBHOOKS.changed()


def connect() -> None:
    request_started.connect(request_begins, dispatch_uid="lms.generation_tokens_begin")
    request_finished.connect(request_ends, dispatch_uid="lms.generation_tokens_end")
    post_save.connect(webhooks_changed, sender=Webhook, dispatch_uid="lms.webhooks_changed_on_save")
    post_delete.connect(
        webhooks_changed, sender=Webhook, dispatch_uid="lms.webhooks_changed_on_delete"
    )
