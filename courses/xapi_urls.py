"""The xAPI resources (an LRS for other LMSs), mounted at /xapi/.

Each resource answers at its path as xAPI names it, and with a trailing slash: clients
POST and PUT there, and a redirect cannot carry a POST (no APPEND_SLASH redirect).
"""

from django.urls import re_path

from courses import xapi_views
from courses.xapi import document_views

urlpatterns = [
    re_path(r"^about/?$", xapi_views.about, name="xapi-about"),
    re_path(r"^statements/?$", xapi_views.statements, name="xapi-statements"),
    re_path(r"^activities/state/?$", document_views.state, name="xapi-state"),
    re_path(
        r"^activities/profile/?$", document_views.activity_profile, name="xapi-activity-profile"
    ),
    re_path(r"^activities/?$", document_views.activities, name="xapi-activities"),
    re_path(r"^agents/profile/?$", document_views.agent_profile, name="xapi-agent-profile"),
    re_path(r"^agents/?$", document_views.agents, name="xapi-agents"),
]
