"""Public URLs of the certificates app: verification, credentials, status lists, keys."""

from django.urls import path

from certificates import credential_views, learner_views, views

app_name = "certificates"

urlpatterns = [
    path("verify/", views.verify, name="verify"),
    path("verify/bulk/", views.verify_bulk, name="verify_bulk"),
    path("verify/<str:code>/", views.verify_code, name="verify_code"),
    path("certificates/", learner_views.mine, name="mine"),
    path("certificates/<uuid:uuid>/pdf/", learner_views.pdf, name="pdf"),
    path("credentials/keys/", credential_views.keys, name="keys"),
    path("credentials/issuers/<uuid:uuid>/", credential_views.issuer, name="issuer"),
    path(
        "credentials/issuers/<uuid:uuid>/status/<int:number>/",
        credential_views.issuer_status_list,
        name="issuer_status_list",
    ),
    path("credentials/status/<int:number>/", credential_views.status_list, name="status_list"),
    path("credentials/<uuid:uuid>/", credential_views.credential, name="credential"),
]
