"""What competencies' evidence rules need from courses: the live modules mapped to them.

Registered (through the hook :data:`competencies.requirements.REQUIREMENTS_HOOK`) when the
app is ready, so that ``competencies`` can evaluate "all mapped modules complete" without
importing ``courses``. Called once per batch of evidence; a fixed number of queries.
"""

from wagtail import hooks

from competencies.requirements import (
    REQUIREMENTS_HOOK,
    ModuleRequirements,
    ModuleSet,
    RequiredModule,
)
from courses.models import CoursePage, ModuleCompetency, ModuleCompletion, ModulePage
from courses.translations import is_original


@hooks.register(REQUIREMENTS_HOOK)
def module_requirements(*, competency_ids, completion_ids) -> ModuleRequirements:
    """Per competency, one set per live course: its live modules mapped to the competency,
    with the mappings' target levels; and the module each given completion completed.

    Only what is live now counts: a module unpublished, or a course taken offline, is no
    longer required (and a module mapped later is required from then on). The sets follow
    the course's module order.
    """
    result = ModuleRequirements()
    if competency_ids:
        mappings = list(
            ModuleCompetency.objects.filter(competency__in=competency_ids, module__live=True)
            # A translated module's mappings are the original's: completions name the original.
            .filter(is_original("module"))
            .order_by("module__path", "pk")
            .values_list(
                "competency_id", "module_id", "module__title", "module__path", "target_level_id"
            )
        )
        course_paths = {path[: -ModulePage.steplen] for _c, _m, _t, path, _l in mappings}
        courses = dict(
            CoursePage.objects.live().filter(path__in=course_paths).values_list("path", "title")
        )
        by_course: dict[tuple[int, str], list[RequiredModule]] = {}
        for competency_id, module_id, title, path, level_id in mappings:
            course_path = path[: -ModulePage.steplen]
            if course_path in courses:
                by_course.setdefault((competency_id, course_path), []).append(
                    RequiredModule(module_id=module_id, title=title, level_id=level_id)
                )
        for (competency_id, course_path), modules in by_course.items():
            result.sets.setdefault(competency_id, []).append(
                ModuleSet(title=courses[course_path], modules=tuple(modules))
            )
    # Module completion evidence names the completion (courses.services): find its module.
    known = [int(source_id) for source_id in completion_ids if str(source_id).isdigit()]
    if known:
        result.module_of = {
            str(pk): module_id
            for pk, module_id in ModuleCompletion.objects.filter(pk__in=known).values_list(
                "pk", "module_id"
            )
        }
    return result
