"""What a competency's evidence rule needs to know from the apps that train it.

A rule such as "all mapped modules complete" (:class:`~competencies.models.EvidenceRule`)
needs the modules mapped to a competency, which live in another app: ``competencies`` never
imports ``courses``. That app registers a provider through the Wagtail hook
:data:`REQUIREMENTS_HOOK` (``courses`` does it in its ``AppConfig.ready``, see
``courses/competency_requirements.py``); :func:`module_requirements` asks every provider
once per batch of evidence, never once per piece.

A provider is a function ``provider(*, competency_ids, completion_ids) -> ModuleRequirements``:

* ``competency_ids``: the competencies whose mapped modules are wanted; it answers with one
  :class:`ModuleSet` per course (the course's live modules mapped to the competency, each
  with the mapping's target level), courses and modules that are not live left out;
* ``completion_ids``: ``source_id`` values of ``module_completion`` evidence; it answers with
  the module each one completed (ids it does not know are left out).

Without a provider no module is ever required: rules that need modules are then met only by
prior learning (and, for "modules or an observation", by an observation).
"""

from dataclasses import dataclass, field

from wagtail import hooks

from competencies.models import EvidenceRule, EvidenceSource

REQUIREMENTS_HOOK = "competency_module_requirements"

#: Rules that need the modules mapped to a competency.
RULES_WITH_MODULES = frozenset(
    {
        EvidenceRule.MODULES,
        EvidenceRule.MODULES_AND_OBSERVATION,
        EvidenceRule.MODULES_OR_OBSERVATION,
    }
)


@dataclass(frozen=True)
class RequiredModule:
    module_id: int
    title: str
    level_id: int  # the mapping's target level


@dataclass(frozen=True)
class ModuleSet:
    """One course's live modules mapped to a competency: all of them complete meets the rule."""

    title: str
    modules: tuple[RequiredModule, ...]


@dataclass
class ModuleRequirements:
    sets: dict[int, list[ModuleSet]] = field(default_factory=dict)  # competency id -> sets
    module_of: dict[str, int] = field(default_factory=dict)  # completion source id -> module


def module_requirements(*, competency_ids, completion_ids=()) -> ModuleRequirements:
    """Ask the registered providers (see the module's docstring); nothing asked, no query."""
    competency_ids, completion_ids = set(competency_ids), {str(i) for i in completion_ids}
    result = ModuleRequirements()
    if not competency_ids and not completion_ids:
        return result
    for provider in hooks.get_hooks(REQUIREMENTS_HOOK):
        found = provider(competency_ids=competency_ids, completion_ids=completion_ids)
        for competency_id, sets in found.sets.items():
            result.sets.setdefault(competency_id, []).extend(sets)
        result.module_of.update(found.module_of)
    return result


@dataclass
class Shown:
    """What a learner's evidence on one competency shows, kind by kind (level orders)."""

    any: int | None = None  # the highest level of any evidence
    prior: int | None = None
    observed: int | None = None
    modules: dict[int, int] = field(default_factory=dict)  # module id -> highest level

    def add(self, *, kind: str, order: int, module_id: int | None = None) -> None:
        self.any = _higher(self.any, order)
        if kind == EvidenceSource.PRIOR_LEARNING:
            self.prior = _higher(self.prior, order)
        elif kind == EvidenceSource.OBSERVATION:
            self.observed = _higher(self.observed, order)
        elif kind == EvidenceSource.MODULE_COMPLETION and module_id is not None:
            self.modules[module_id] = _higher(self.modules.get(module_id), order)


def _higher(a: int | None, b: int | None) -> int | None:
    return b if a is None or (b is not None and b > a) else a


def modules_done(module_set: ModuleSet, shown: Shown, order_of: dict[int, int]) -> list[int]:
    """The levels of the set's modules completed at or above their target, in set order."""
    done = []
    for required in module_set.modules:
        target = order_of.get(required.level_id)
        got = shown.modules.get(required.module_id)
        if target is not None and got is not None and got >= target:
            done.append(got)
    return done


def rule_level(
    *,
    rule: str,
    shown: Shown,
    sets: list[ModuleSet],
    order_of: dict[int, int],
    lowest: int,
) -> int | None:
    """The level ``shown`` attains directly under ``rule`` (None: not attained).

    * any evidence: the highest level of any evidence (an external statement included);
    * all mapped modules: met when every live module one course maps to the competency is
      complete at or above its target level; the level is the highest of those completions
      (the course as a whole reaches what its most demanding module targets). A competency no
      live module is mapped to is never met this way;
    * an observation: the highest level a supervisor signed off;
    * modules and an observation: both met, at the lower of the two levels;
    * modules or an observation: either, at the higher.

    Recognised prior learning attains at its level under every rule. Evidence at the bottom
    of the scale (``lowest``) attains nothing. An unknown rule attains only through prior
    learning, rather than everything.
    """

    def counts(order: int | None) -> int | None:
        return order if order is not None and order > lowest else None

    if not rule or rule == EvidenceRule.ANY:
        return counts(shown.any)
    modules = None
    if rule in RULES_WITH_MODULES:
        for module_set in sets:
            done = modules_done(module_set, shown, order_of)
            if done and len(done) == len(module_set.modules):
                modules = _higher(modules, max(done))
        modules = counts(modules)
    observed = counts(shown.observed)
    if rule == EvidenceRule.MODULES:
        level = modules
    elif rule == EvidenceRule.OBSERVATION:
        level = observed
    elif rule == EvidenceRule.MODULES_AND_OBSERVATION:
        level = None if modules is None or observed is None else min(modules, observed)
    elif rule == EvidenceRule.MODULES_OR_OBSERVATION:
        level = _higher(modules, observed)
    else:
        level = None
    return _higher(level, counts(shown.prior))
