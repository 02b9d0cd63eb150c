"""The release form, built from the inputs the workflow declares."""

from typing import Any

from django import forms

from releases.planning import (
    BUMP_FIELD,
    PRERELEASE_FIELD,
    InputRoles,
    Plan,
    ReleaseContext,
    plan_release,
)
from releases.versioning import BUMPS
from releases.workflow import WorkflowInput


def _field_for(item: WorkflowInput) -> forms.Field:
    help_text = item.description
    if item.type == "choice":
        return forms.ChoiceField(
            label=item.name,
            choices=[(option, option) for option in item.options],
            initial=item.default if item.default in item.options else item.options[0],
            required=item.required,
            help_text=help_text,
        )
    if item.type == "boolean":
        return forms.BooleanField(
            label=item.name,
            required=False,
            initial=item.default in (True, "true"),
            help_text=help_text,
        )
    if item.type == "number":
        return forms.FloatField(
            label=item.name,
            required=item.required,
            initial=item.default,
            help_text=help_text,
        )
    return forms.CharField(
        label=item.name,
        required=item.required,
        initial=item.default or "",
        max_length=200,
        help_text=help_text,
        strip=True,
    )


class ReleaseForm(forms.Form):
    """One field per declared workflow input (plus bump and suffix when the
    workflow takes a full version). `plan` holds the release once valid."""

    def __init__(self, *args: Any, context: ReleaseContext, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.context = context
        self.roles = InputRoles.of(context.inputs)
        self.plan: Plan | None = None
        if self.roles.console_computes_version:
            self.fields[BUMP_FIELD] = forms.ChoiceField(
                label="Bump", choices=[(b, b) for b in BUMPS], initial="minor"
            )
            self.fields[PRERELEASE_FIELD] = forms.CharField(
                label="Pre-release suffix",
                required=False,
                max_length=100,
                help_text="Empty for a stable release; rc.1, beta.2, … for a pre-release.",
            )
        for item in context.inputs:
            if self.roles.console_computes_version and item is self.roles.version:
                continue
            self.fields[item.name] = _field_for(item)

    def _raw_choices(self) -> dict[str, Any]:
        if not self.is_bound:
            return {name: field.initial for name, field in self.fields.items()}
        choices: dict[str, Any] = {}
        for name, field in self.fields.items():
            if isinstance(field, forms.BooleanField):
                choices[name] = self.data.get(name) in ("on", "true", "1", "True")
            else:
                choices[name] = self.data.get(name, "")
        return choices

    def preview(self) -> Plan:
        """The plan for what is filled in so far, valid or not."""
        return plan_release(self.context, self._raw_choices())

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        plan = plan_release(self.context, cleaned)
        if plan.problem:
            raise forms.ValidationError(plan.problem)
        self.plan = plan
        return cleaned
