"""The demo course's French translation, made as an author's would be: each page copied into
the French locale (Wagtail's ``copy_for_translation``, which keeps the translation key and
the quiz's block ids) and its text replaced, then published. Pages already translated are
left as they are, so seeding twice changes nothing."""

import copy
import json

from django.db import transaction
from wagtail.models import Locale, Page

from courses.models import CoursePage, ModulePage

#: Every English text of the demo course and its modules, with its French translation. A
#: text not listed stays in English (the demo shows what an untranslated text looks like).
FRENCH = {
    "Courses for the social service workforce": "Formations pour les travailleurs sociaux",
    "Case management for para-professionals": "La gestion de cas pour les para-professionnels",
    "Open a case, plan with the family and follow up: the everyday work of a community "
    "case worker, in short lessons for your phone.": (
        "Ouvrir un dossier, planifier avec la famille et assurer le suivi : le travail "
        "quotidien d'un travailleur social communautaire, en courtes leçons pour votre "
        "téléphone."
    ),
    "Opening a case": "Ouvrir un dossier",
    "How to open a case file and record what you learn at the first visit.": (
        "Comment ouvrir un dossier et noter ce que vous apprenez lors de la première visite."
    ),
    "<h2>Why a case file matters</h2><p>A case file keeps the child's story, the family's "
    "strengths and every agreed action in one place, so that help continues even when "
    "workers change.</p><ul><li>Record the child's name, age and where they live.</li><li>"
    "Write what the child and family told you, in their words.</li><li>Note the date of every "
    "contact.</li></ul>": (
        "<h2>Pourquoi un dossier compte</h2><p>Un dossier réunit l'histoire de l'enfant, les "
        "forces de la famille et chaque action convenue, pour que l'aide continue même quand "
        "les intervenants changent.</p><ul><li>Notez le nom, l'âge et le lieu de vie de "
        "l'enfant.</li><li>Écrivez ce que l'enfant et la famille vous ont dit, avec leurs "
        "mots.</li><li>Notez la date de chaque contact.</li></ul>"
    ),
    "Meet Amani": "Voici Amani",
    "<p>Amani, 9, has missed school for three weeks. Her grandmother cares for her and her "
    "two brothers. A neighbour asks you to visit.</p>": (
        "<p>Amani, 9 ans, ne va plus à l'école depuis trois semaines. Sa grand-mère s'occupe "
        "d'elle et de ses deux frères. Une voisine vous demande de passer.</p>"
    ),
    "Open a case file": "Ouvrir un dossier",
    "<p>With your supervisor, open a case file for a family you visit this week.</p>": (
        "<p>Avec votre superviseur, ouvrez un dossier pour une famille que vous visitez cette "
        "semaine.</p>"
    ),
    "Planning with the family": "Planifier avec la famille",
    "Set goals, actions and timelines together, then check your understanding.": (
        "Fixer ensemble les objectifs, les actions et les délais, puis vérifier ce que vous "
        "avez compris."
    ),
    "<h2>A plan made together</h2><p>A case plan works when the family owns it. Agree two or "
    "three goals, who does what, and when you will meet again.</p>": (
        "<h2>Un plan fait ensemble</h2><p>Un plan d'intervention fonctionne quand la famille "
        "se l'approprie. Convenez de deux ou trois objectifs, de qui fait quoi et de la date "
        "de votre prochaine rencontre.</p>"
    ),
    "Safety first": "La sécurité d'abord",
    "<p>If a child is in immediate danger, act on the safety procedure before planning "
    "anything else.</p>": (
        "<p>Si un enfant est en danger immédiat, appliquez la procédure de sécurité avant de "
        "planifier quoi que ce soit.</p>"
    ),
    "Check your understanding": "Vérifiez ce que vous avez compris",
    "Who should agree the goals of a case plan?": (
        "Qui doit convenir des objectifs d'un plan d'intervention ?"
    ),
    "The worker alone": "L'intervenant seul",
    "The family must own the plan.": "La famille doit s'approprier le plan.",
    "The child, the family and the worker": "L'enfant, la famille et l'intervenant",
    "Yes: plans made together are followed.": "Oui : les plans faits ensemble sont suivis.",
    "The school": "L'école",
    "The school may help, but does not decide.": "L'école peut aider, mais ne décide pas.",
    "Which belong in every case plan? (choose all that apply)": (
        "Qu'est-ce qui figure dans tout plan d'intervention ? (cochez tout ce qui s'applique)"
    ),
    "Goals": "Les objectifs",
    "Who does each action": "Qui fait chaque action",
    "The neighbour's opinion": "L'avis de la voisine",
    "Not unless the family asks.": "Seulement si la famille le demande.",
    "When you will review the plan": "Quand vous réviserez le plan",
}


def french(value):
    """``value`` (a StreamField's raw data, or a text) with every listed text in French;
    block ids and everything else unchanged."""
    if isinstance(value, str):
        return FRENCH.get(value, value)
    if isinstance(value, list):
        return [french(item) for item in value]
    if isinstance(value, dict):
        return {key: item if key == "id" else french(item) for key, item in value.items()}
    return value


def _translate(page: Page, locale: Locale, *, fields: tuple[str, ...]) -> Page:
    """The live French translation of ``page`` (made and published if missing)."""
    existing = page.get_translation_or_none(locale)
    if existing is not None:
        return existing.specific
    translated = page.copy_for_translation(locale).specific
    for name in fields:
        setattr(translated, name, french(getattr(translated, name)))
    translated.save()
    translated.save_revision().publish()
    return translated


@transaction.atomic
def translate_course(course: CoursePage) -> CoursePage:
    """Translate ``course``, its modules and the sections above it into French."""
    locale, _created = Locale.objects.get_or_create(language_code="fr")
    section = course.get_parent().specific
    _translate(section.get_parent().specific, locale, fields=("title",))
    _translate(section, locale, fields=())
    translated = _translate(course, locale, fields=("title", "summary"))
    translated.language = "fr"
    translated.save_revision().publish()
    for module in ModulePage.objects.child_of(course).order_by("path"):
        body = copy.deepcopy(list(module.body.raw_data))
        page = module.get_translation_or_none(locale)
        if page is None:
            page = module.copy_for_translation(locale).specific
            page.title = french(page.title)
            page.summary = french(page.summary)
            page.body = json.dumps(french(body))
            page.save()
            page.save_revision().publish()
    return CoursePage.objects.get(pk=translated.pk)
