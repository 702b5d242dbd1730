"""Helpers of the certificates app's services: not its public surface.

Other apps and host sites use :mod:`certificates.services` and :mod:`certificates.selectors`;
what lives here may change with any release. One module per flow it serves, as
django-allauth keeps ``allauth/*/internal/flows/``.
"""
