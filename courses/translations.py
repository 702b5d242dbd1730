"""Courses in the learner's language: one course, several translations, one set of records.

Authors translate a course page and its modules into another locale (with wagtail-localize in
the admin, or ``Page.copy_for_translation``); the translations share the original's
``translation_key``. Learning records (enrolments, completions, quiz attempts, certificates)
always name the *original* page, so a module completed in French counts for the course in
English: every entry point where a learner acts on a page maps it with :func:`source_page`
before recording. Everything here uses Wagtail core's i18n API only, so the apps work on a
host site without wagtail-localize.

Which translation a learner sees follows the site's language (Wagtail routes through the
site root's translation in the active language); :class:`PreferredLanguageMiddleware` makes
the profile's preferred language the site's language at sign-in, and the footer switcher
still changes it afterwards.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import translation
from django.utils.translation import get_language_info
from wagtail.models import Locale, Page, Site

from lms.languages import language_cookie_set

#: Session key holding the profile's language until the next response sets the cookie.
PENDING_LANGUAGE = "courses.preferred_language"


def source_page(page: Page) -> Page:
    """The original of ``page`` among its translations: the one created first (the others are
    copies of it), as its specific class. ``page`` itself when it is the original or has no
    translations."""
    model = page.specific_class or type(page)
    original = (
        model.objects.filter(translation_key=page.translation_key).order_by("pk").only("pk").first()
    )
    if original is None or original.pk == page.pk:
        return page
    return model.objects.get(pk=original.pk)


def is_original(page_field: str = "") -> Exists:
    """A filter keeping rows whose page (``page_field``, e.g. ``"module"``; "" for pages
    themselves) is an original, not a translation: no earlier page shares its key. For
    queries of records that must count once per course, whatever its translations."""
    prefix = f"{page_field}__" if page_field else ""
    return ~Exists(
        Page.objects.filter(
            translation_key=OuterRef(f"{prefix}translation_key"),
            pk__lt=OuterRef(f"{prefix}pk" if prefix else "pk"),
        )
    )


@dataclass(frozen=True)
class ModuleRow:
    """A module of the course as a learner sees it: ``module`` is the original (progress is
    recorded on it), ``page`` the translation to show, or the original when there is none
    (``translated`` False)."""

    module: Page
    page: Page
    translated: bool


def module_rows(modules: list, *, locale_id: int) -> list[ModuleRow]:
    """The original ``modules`` with their live translations in ``locale_id`` (one query)."""
    if all(module.locale_id == locale_id for module in modules):
        return [ModuleRow(module, module, True) for module in modules]
    model = type(modules[0]) if modules else Page
    shown = {
        page.translation_key: page
        for page in model.objects.live().filter(
            locale_id=locale_id, translation_key__in=[m.translation_key for m in modules]
        )
    }
    rows = []
    for module in modules:
        page = module if module.locale_id == locale_id else shown.get(module.translation_key)
        rows.append(ModuleRow(module, page or module, page is not None))
    return rows


@dataclass(frozen=True)
class TranslationLink:
    language_code: str
    label: str  # in the translation's own language ("Lire en français")


def translation_links(page: Page) -> list[TranslationLink]:
    """Live translations of ``page`` in the site's other languages, each labelled in its own
    language; following one switches the site's language (the page's URL is the same)."""
    codes = dict(settings.LANGUAGES)
    links = []
    for other in page.get_translations().live().select_related("locale").order_by("pk"):
        code = other.locale.language_code
        if code not in codes:
            continue
        with translation.override(code):
            label = translation.gettext("Read in %(language)s") % {
                "language": get_language_info(code)["name_local"]
            }
        links.append(TranslationLink(code, label))
    return links


def untranslated_note_needed(page: Page) -> bool:
    """Whether ``page`` is shown in another language than the site's because it has no
    translation in the site's language yet."""
    if not getattr(settings, "WAGTAIL_I18N_ENABLED", False):
        return False
    try:
        active = Locale.get_active()
    except (LookupError, Locale.DoesNotExist):
        return False
    return page.locale_id != active.pk and page.get_translation_or_none(active) is None


def catalogue_published(sender, instance, **kwargs):
    """``page_published`` receiver for catalogues: a catalogue's translation, once live, is
    the site's root in its language; Wagtail's cached list of site roots may predate it."""
    Site.clear_site_root_paths_cache()


# --- The profile's language becomes the site's at sign-in -----------------------------------


def remember_preferred_language(sender, request, user, **kwargs):
    """``user_logged_in`` receiver: the learner's preferred language, for the middleware to
    apply to this session (their explicit choice in the footer afterwards wins)."""
    from lms.models import LearnerProfile

    language = (
        LearnerProfile.objects.filter(user=user)
        .values_list("preferred_language", flat=True)
        .first()
    )
    # Only a change is remembered: a learner already browsing in their language costs
    # nothing more (no session write).
    if language and language != translation.get_language() and hasattr(request, "session"):
        request.session[PENDING_LANGUAGE] = language


class PreferredLanguageMiddleware:
    """Applies the language remembered at sign-in: activates it for this request and sets
    the language cookie on the response, which the footer switcher changes as before. Only
    reads the session of visitors who have one (no ``Vary: Cookie`` for the others)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = None
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            language = request.session.get(PENDING_LANGUAGE)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is not None and (language or session.accessed):
            language = session.pop(PENDING_LANGUAGE, None)
        if language:
            language_cookie_set(response, language)
        return response
