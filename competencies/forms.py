"""Forms of the framework editor in the Wagtail admin.

Forms only collect and check what a person typed; every change is made by
:mod:`competencies.services`, which also has the last word on what is allowed.
"""

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from competencies.interchange import MAX_IMPORT_BYTES, LevelData
from competencies.models import (
    AssociationType,
    CompetencyItem,
    EvidenceRule,
    Framework,
    RuleType,
)
from competencies.rules import ChildRule, points_rule_read
from competencies.selectors import TreeNode

TOP_LEVEL = ""


def _owner_field(*, institutions, may_be_unowned: bool) -> forms.ModelChoiceField:
    """The owning institution: one of ``institutions``; empty (regulator-owned) when allowed."""
    field = forms.ModelChoiceField(
        label=_("Owning institution"),
        queryset=institutions,
        required=not may_be_unowned,
        empty_label=_("No institution (owned by the regulator)") if may_be_unowned else None,
        help_text=_("Its authors and managers can edit the framework's drafts."),
    )
    return field


class FrameworkForm(forms.ModelForm):
    """A framework's descriptive fields. The owner is chosen on creation and shown afterwards.

    The ModelForm checks the "one title and version per owner" constraint before the service
    is asked to write.
    """

    class Meta:
        model = Framework
        fields = [
            "title",
            "code",
            "version",
            "language",
            "creator",
            "description",
            "licence",
            "evidence_rule",
            "owner_institution",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, institutions=None, may_be_unowned: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        # A form posted without it (an older page, a script) keeps the rule it had.
        self.fields["evidence_rule"].required = False
        if self.instance.pk:
            # The owner decides who may edit; it does not change once the framework exists.
            self.fields["owner_institution"].disabled = True
            self.fields["owner_institution"].required = False
            self.fields["owner_institution"].empty_label = _("No institution (the regulator)")
        else:
            self.fields["owner_institution"] = _owner_field(
                institutions=institutions, may_be_unowned=may_be_unowned
            )
            if not may_be_unowned and institutions is not None and len(institutions) == 1:
                self.initial.setdefault("owner_institution", institutions[0].pk)

    def clean_evidence_rule(self) -> str:
        return (
            self.cleaned_data.get("evidence_rule")
            or self.instance.evidence_rule
            or EvidenceRule.ANY
        )

    def service_fields(self) -> dict:
        """What the services take: every field but the owner."""
        return {
            name: value for name, value in self.cleaned_data.items() if name != "owner_institution"
        }


def _tree_choices(rows: list[TreeNode], *, exclude: set[int] = frozenset()):
    """Items as indented choices, in reading order."""
    return [
        (str(node.item.pk), "\u2003" * node.depth + str(node.item))
        for node in rows
        if node.item.pk not in exclude
    ]


def subtree_pks(rows: list[TreeNode], item: CompetencyItem) -> set[int]:
    """``item`` and all its descendants: where it cannot move."""
    inside = {item.pk}
    for node in rows:
        if node.item.parent_id in inside:
            inside.add(node.item.pk)
    return inside


class ParentChoiceField(forms.ChoiceField):
    """A choice among the framework's items (or the top level), resolved to the item."""

    def __init__(self, *, rows: list[TreeNode], exclude: set[int] = frozenset(), **kwargs):
        self.items = {str(node.item.pk): node.item for node in rows}
        kwargs.setdefault("label", _("Parent"))
        kwargs.setdefault("required", False)
        super().__init__(
            choices=[(TOP_LEVEL, _("— Top level —")), *_tree_choices(rows, exclude=exclude)],
            **kwargs,
        )

    def clean(self, value):
        value = super().clean(value)
        return self.items.get(value) if value else None


class ItemForm(forms.ModelForm):
    """An item's text and place in the tree."""

    class Meta:
        model = CompetencyItem
        fields = [
            "code",
            "kind",
            "full_statement",
            "abbreviated_statement",
            "notes",
            "evidence_rule",
        ]
        widgets = {
            "full_statement": forms.Textarea(attrs={"rows": 3}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, rows: list[TreeNode], framework: Framework, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["evidence_rule"].choices = [
            (
                "",
                _("As the framework says: %(rule)s")
                % {"rule": framework.get_evidence_rule_display()},
            ),
            *EvidenceRule.choices,
        ]
        self.fields["evidence_rule"].help_text = _(
            "What this competency's own evidence must show. Module completions count at or "
            "above the mapping's target level; recognised prior learning always counts."
        )
        item = self.instance
        exclude = subtree_pks(rows, item) if item.pk else set()
        self.fields["parent"] = ParentChoiceField(rows=rows, exclude=exclude)
        if item.pk:
            self.initial["parent"] = str(item.parent_id) if item.parent_id else TOP_LEVEL

    def service_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self._meta.fields}


class ItemMoveForm(forms.Form):
    def __init__(self, *args, rows: list[TreeNode], item: CompetencyItem, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"] = ParentChoiceField(
            rows=rows,
            exclude=subtree_pks(rows, item),
            label=_("New parent"),
            help_text=_("The item moves with everything under it, to the end of its new parent."),
        )
        self.initial["parent"] = str(item.parent_id) if item.parent_id else TOP_LEVEL


class ItemRuleForm(forms.Form):
    """How a parent is attained from its children (Moodle's "Competency rule" dialog).

    One points field and one "required" box per child, in tree order. The form only reads
    numbers; :func:`competencies.rules.item_rule_set` decides whether the rule can be met.
    """

    rule_type = forms.ChoiceField(
        label=_("Attained when"),
        choices=[(RuleType.ALL, RuleType.ALL.label), (RuleType.POINTS, RuleType.POINTS.label)],
        widget=forms.RadioSelect,
    )
    points_needed = forms.IntegerField(
        label=_("Points needed"),
        required=False,
        widget=forms.NumberInput(attrs={"min": 1}),
        help_text=_(
            "For points from children: how many points the attained children must add up to. "
            "Every required child must be attained as well."
        ),
    )

    def __init__(self, *args, item: CompetencyItem, children: list[CompetencyItem], **kwargs):
        super().__init__(*args, **kwargs)
        self.children = children
        for child in children:
            self.fields[f"points_{child.pk}"] = forms.IntegerField(
                label=_("Points of %(child)s") % {"child": child},
                required=False,
                widget=forms.NumberInput(attrs={"min": 0}),
            )
            self.fields[f"required_{child.pk}"] = forms.BooleanField(
                label=_("%(child)s is required") % {"child": child}, required=False
            )
        self.initial.update(self._stored_rule(item))

    def _stored_rule(self, item: CompetencyItem) -> dict:
        """The item's rule as initial values; a new points rule starts at one point a child."""
        codes = [child.code for child in self.children]
        rule = points_rule_read(item.rule_config, child_codes=codes)
        if item.rule_type != RuleType.POINTS or rule is None:
            rule = None
        initial = {"rule_type": item.rule_type or RuleType.ALL}
        if rule is not None and rule.needed > 0:
            initial["points_needed"] = rule.needed
        elif rule is None:
            initial["points_needed"] = sum(1 for code in codes if code) or None
        for child in self.children:
            if rule is None:
                points, required = (1 if child.code else 0), False
            else:
                points, required = rule.children.get(child.code, (0, False))
            initial[f"points_{child.pk}"] = points
            initial[f"required_{child.pk}"] = required
        return initial

    def rows(self) -> list[tuple[CompetencyItem, forms.BoundField, forms.BoundField]]:
        """``(child, its points field, its "required" box)`` in tree order, for the table."""
        return [
            (child, self[f"points_{child.pk}"], self[f"required_{child.pk}"])
            for child in self.children
        ]

    def rule(self) -> dict:
        """What :func:`competencies.rules.item_rule_set` takes (an empty points field is 0)."""
        data = self.cleaned_data
        return {
            "rule_type": data["rule_type"],
            "points_needed": data["points_needed"],
            "children": [
                ChildRule(
                    child=child,
                    points=data[f"points_{child.pk}"] or 0,
                    required=data[f"required_{child.pk}"],
                )
                for child in self.children
            ],
        }


class LevelForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120, required=False)
    code = forms.CharField(label=_("Code"), max_length=40, required=False)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class BaseScaleFormSet(forms.BaseFormSet):
    """Levels lowest first; one radio button (``proficient``) marks the proficient level.

    Rows left without a name, or ticked for deletion, are dropped; the service checks the
    rest (at least two levels, distinct names, exactly one proficient).
    """

    def __init__(self, *args, proficient: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.proficient = str(proficient) if proficient is not None else ""
        if self.is_bound:
            self.proficient = self.data.get("proficient", "")

    def clean(self):
        if any(self.errors):
            return
        kept = [
            (index, form)
            for index, form in enumerate(self.forms)
            if form.cleaned_data.get("name", "").strip() and not self._should_delete_form(form)
        ]
        kept.sort(
            key=lambda pair: (
                pair[1].cleaned_data.get("ORDER") is None,
                pair[1].cleaned_data.get("ORDER") or 0,
                pair[0],
            )
        )
        if self.proficient not in {str(index) for index, _form in kept}:
            raise forms.ValidationError(_("Mark one of the named levels as proficient."))
        self.levels = [
            LevelData(
                name=form.cleaned_data["name"].strip(),
                code=form.cleaned_data["code"].strip(),
                description=form.cleaned_data["description"].strip(),
                is_proficient=str(index) == self.proficient,
            )
            for index, form in kept
        ]


ScaleFormSet = forms.formset_factory(
    LevelForm, formset=BaseScaleFormSet, extra=2, can_order=True, can_delete=True
)


class AssociationForm(forms.Form):
    """A link from an item of this framework to an item of any framework the person can see."""

    origin = forms.ChoiceField(label=_("From"))
    association_type = forms.ChoiceField(label=_("Relation"), choices=AssociationType.choices)
    destination_framework = forms.ModelChoiceField(
        label=_("To an item of the framework"), queryset=Framework.objects.none()
    )
    destination_code = forms.CharField(
        label=_("Item code"),
        max_length=60,
        help_text=_("The code of the item in that framework, e.g. PP.2.3."),
    )

    def __init__(self, *args, rows: list[TreeNode], frameworks, **kwargs):
        super().__init__(*args, **kwargs)
        self.items = {str(node.item.pk): node.item for node in rows}
        self.fields["origin"].choices = _tree_choices(rows)
        self.fields["destination_framework"].queryset = frameworks.order_by("title", "version")
        self.fields["destination_framework"].label_from_instance = _framework_choice_label

    def clean_origin(self):
        return self.items[self.cleaned_data["origin"]]

    def clean(self):
        cleaned = super().clean()
        framework = cleaned.get("destination_framework")
        code = (cleaned.get("destination_code") or "").strip()
        if framework and code:
            destination = CompetencyItem.objects.filter(framework=framework, code=code).first()
            if destination is None:
                self.add_error(
                    "destination_code",
                    _("“%(framework)s” has no item with the code %(code)s.")
                    % {"framework": framework, "code": code},
                )
            cleaned["destination"] = destination
        return cleaned


def _framework_choice_label(framework: Framework) -> str:
    label = str(framework)
    if framework.code:
        label += f" ({framework.code})"
    return f"{label} — {framework.get_status_display()}"


def next_version_number(version: str) -> str:
    """A suggestion for the next version: 1.0 → 1.1, 2 → 3, anything else unchanged."""
    match = re.fullmatch(r"(.*?)(\d+)", version.strip())
    if not match:
        return version
    return f"{match.group(1)}{int(match.group(2)) + 1}"


class NewVersionForm(forms.Form):
    version = forms.CharField(
        label=_("New version number"),
        max_length=40,
        help_text=_("The new version starts as a draft copy of this one."),
    )


class ImportFormat:
    CASE = "case"
    MOODLE = "moodle"
    CHOICES = [
        (CASE, _("CASE 1.1 JSON package (CFPackage)")),
        (MOODLE, _("Moodle competency framework CSV")),
    ]


class ImportForm(forms.Form):
    file = forms.FileField(label=_("File"))
    format = forms.ChoiceField(
        label=_("Format"), choices=ImportFormat.CHOICES, widget=forms.RadioSelect
    )

    def __init__(self, *args, institutions, may_be_unowned: bool, scale_sources, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner_institution"] = _owner_field(
            institutions=institutions, may_be_unowned=may_be_unowned
        )
        if not may_be_unowned and len(institutions) == 1:
            self.initial.setdefault("owner_institution", institutions[0].pk)
        self.fields["scale_from"] = forms.ModelChoiceField(
            label=_("Proficiency scale"),
            queryset=scale_sources,
            required=False,
            empty_label=_("The file's own"),
            help_text=_(
                "For a file without a proficiency scale (CASE packages usually have none): "
                "the framework gets a copy of this framework's scale, so that it can be "
                "published."
            ),
        )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(
                _("The file is %(size)s bytes; the limit is %(limit)s bytes.")
                % {"size": f"{upload.size:,}", "limit": f"{MAX_IMPORT_BYTES:,}"}
            )
        return upload
