"""Writes of the core app: the door other apps and the views use.

The writes live by responsibility: :mod:`lms.institutions` (institutions, roles, learner
profiles), :mod:`lms.learners` (learners known to another LMS by its own id),
:mod:`lms.api_keys`, :mod:`lms.webhooks`; per-process copies of rarely changing data are in
:mod:`lms.caches`.
"""

from lms.api_keys import (
    API_KEY_CACHE_SECONDS,
    API_KEY_ID,
    API_KEY_PREFIX,
    API_KEY_TOUCH_INTERVAL,
    api_key_authenticate,
    api_key_cache_key,
    api_key_cache_seconds,
    api_key_create,
    api_key_revoke,
)
from lms.caches import CacheGeneration, progress_caches_enabled
from lms.institutions import (
    institution_create,
    institution_permissions_sync,
    institution_root_page_set,
    learner_profile_save,
    membership_grant,
    membership_revoke,
)
from lms.learners import (
    EXTERNAL_ID_PATTERN,
    LEARNER_PROFILE_FIELDS,
    LearnerIdentityError,
    MatchedLearner,
    learner_match_or_create,
)
from lms.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    WEBHOOK_SECRET_PREFIX,
    WEBHOOK_TIMEOUT_SECONDS,
    WebhookDeliveryError,
    WebhookError,
    WebhookNotice,
    webhook_body,
    webhook_create,
    webhook_deliver,
    webhook_set_active,
    webhook_signature,
    webhooks_dispatch,
    webhooks_dispatch_many,
)

__all__ = [
    "API_KEY_CACHE_SECONDS",
    "API_KEY_ID",
    "API_KEY_PREFIX",
    "API_KEY_TOUCH_INTERVAL",
    "CacheGeneration",
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "EXTERNAL_ID_PATTERN",
    "LEARNER_PROFILE_FIELDS",
    "LearnerIdentityError",
    "MatchedLearner",
    "SIGNATURE_HEADER",
    "WEBHOOK_SECRET_PREFIX",
    "WEBHOOK_TIMEOUT_SECONDS",
    "WebhookDeliveryError",
    "WebhookError",
    "WebhookNotice",
    "api_key_authenticate",
    "api_key_cache_key",
    "api_key_cache_seconds",
    "api_key_create",
    "api_key_revoke",
    "institution_create",
    "institution_permissions_sync",
    "institution_root_page_set",
    "learner_match_or_create",
    "learner_profile_save",
    "membership_grant",
    "membership_revoke",
    "progress_caches_enabled",
    "webhook_body",
    "webhook_create",
    "webhook_deliver",
    "webhook_set_active",
    "webhook_signature",
    "webhooks_dispatch",
    "webhooks_dispatch_many",
]
