"""A stand-in for "any existing Wagtail site" that installs our apps: see test_host.py."""
