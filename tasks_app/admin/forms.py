"""The forms of the nurse and shift pages: shift times in the care team's zone, shifts typed together checked
against each other, and a nurse's page that also makes (and may change) her login."""

from itertools import pairwise
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from care_events.validators import phone_to_e164
from tasks_app.models import DEFAULT_CARE_TEAM, Nurse, NurseShift

ZONE_HELP = "In the care team's time zone, {zone}."


class NurseShiftForm(forms.ModelForm):
    """Shift times are typed, and shown, in the care team's zone (CARE_TEAM_TIME_ZONE), labelled with it."""

    class Meta:
        model = NurseShift
        fields = ("nurse", "starts_at", "ends_at")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, label in (("starts_at", "Starts"), ("ends_at", "Ends")):
            self.fields[name].label = f"{label} ({settings.CARE_TEAM_TIME_ZONE})"
            self.fields[name].help_text = ZONE_HELP.format(zone=settings.CARE_TEAM_TIME_ZONE)
            # Admin's split widget shows "Date:" and "Time:" as bare text: each input is named for screen readers
            # (and axe) by its own label, "Starts: date", "Starts: time".
            for part, widget in zip(("date", "time"), getattr(self.fields[name].widget, "widgets", ()), strict=False):
                widget.attrs["aria-label"] = f"{label}: {part}"


class NurseShiftInlineFormSet(BaseInlineFormSet):
    """Shifts typed together on one page are checked against each other too.

    Each form's own validation checks the database (the model's exclusion constraint); two new rows that
    overlap each other are only visible here, and without this check the second insert would fail there.
    """

    def add_fields(self, form: forms.ModelForm, index: int | None) -> None:  # type: ignore[type-arg]
        super().add_fields(form, index)
        if "DELETE" in form.fields:  # a bare box in the table's row: named for screen readers (and axe)
            form.fields["DELETE"].widget.attrs["aria-label"] = "Delete this shift"

    def clean(self) -> None:
        super().clean()
        windows = []
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            starts_at, ends_at = form.cleaned_data.get("starts_at"), form.cleaned_data.get("ends_at")
            if starts_at and ends_at:
                windows.append((starts_at, ends_at))
        windows.sort()
        for (_, previous_end), (next_start, _) in pairwise(windows):
            if next_start < previous_end:
                raise ValidationError("Two of these shifts overlap each other; a nurse works one shift at a time.")


class NurseAdminForm(forms.ModelForm):
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)
    can_log_in = forms.BooleanField(
        required=False,
        initial=True,
        label="Can log in to admin",
        help_text="Lets her open admin (the staff flag); what she sees there is her role's: the Nurse group, which "
        "every nurse is put in, shows her own tasks.",
    )
    password1 = forms.CharField(
        label="Password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Leave empty to keep the current one (a new nurse without one cannot log in until it is set).",
    )
    password2 = forms.CharField(
        label="Password again",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    class Meta:
        model = Nurse
        fields = (
            "first_name",
            "last_name",
            "email",
            "phone",
            "preferred_channel",
            "is_active",
            "is_supervisor",
            "care_team",
            "max_open_tasks",
        )
        help_texts = {
            # Typed as people write it (clean_phone): the model's own help text describes what is stored.
            "phone": "As people write it: (202) 555-0143, or with its country code, +44 20 7946 0958. Stored as "
            "+12025550143.",
            "is_active": "Inactive nurses are never assigned tasks and cannot log in or use the API (her login is "
            "deactivated with her).",
        }

    # Whether this form sets the login (NurseAdmin.get_form decides, by the user's permission).
    sets_login = True
    LOGIN_FIELDS = ("can_log_in", "password1", "password2")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["care_team"].required = False
        if not self.sets_login:
            for name in self.LOGIN_FIELDS:
                del self.fields[name]
        if self.instance.pk:
            self.fields["first_name"].initial = self.instance.user.first_name
            self.fields["last_name"].initial = self.instance.user.last_name
            if self.sets_login:
                self.fields["can_log_in"].initial = self.instance.user.is_staff

    def clean_care_team(self) -> str:
        return self.cleaned_data.get("care_team") or DEFAULT_CARE_TEAM  # left empty: the one team of a small site

    def clean_phone(self) -> str:
        # Typed as people write it, (202) 555-0143, and stored in E.164 as the API stores it.
        return phone_to_e164(self.cleaned_data["phone"])

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        users = get_user_model().objects.filter(username=email.lower())
        if self.instance.pk:
            users = users.exclude(pk=self.instance.user_id)
        if users.exists():
            raise ValidationError("A user with this email already exists.")
        return email

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        password, again = data.get("password1"), data.get("password2")
        if password or again:
            if password != again:
                self.add_error("password2", "The two passwords differ.")
            else:
                user = get_user_model()(
                    username=data.get("email", ""),
                    first_name=data.get("first_name", ""),
                    last_name=data.get("last_name", ""),
                )
                try:
                    password_validation.validate_password(password or "", user)
                except ValidationError as weak:
                    self.add_error("password1", weak)
        return data
