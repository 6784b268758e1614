"""Forms of the login, second-factor and administration pages. All texts German."""

from datetime import datetime, time

from django import forms
from django.contrib.auth import authenticate, get_user_model
from django.utils import timezone

from beistand.accounts.models import DeviceToken
from beistand.accounts.roles import GRANTABLE_ROLES
from beistand.organisation.models import Room

User = get_user_model()

LOGIN_FAILED = "Benutzername oder Passwort ist falsch."


class KernForm(forms.Form):
    """Puts the KERN UX classes on the widgets and marks fields with errors.

    Django itself links help texts and errors via ``aria-describedby`` (ids ``<id>_helptext``
    and ``<id>_error``) and sets ``aria-invalid``; ``accounts/_field.html`` renders those ids.
    """

    template_name = "accounts/_form.html"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            base = ("kern-form-input__select" if isinstance(field.widget, forms.Select)
                    else "kern-form-input__input")
            field.widget.attrs["class"] = base

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            self._mark_error(name)

    def _mark_error(self, name) -> None:
        if name in self.fields:
            widget = self.fields[name].widget
            base = widget.attrs["class"].split()[0]
            if f"{base}--error" not in widget.attrs["class"]:
                widget.attrs["class"] = f"{base} {base}--error"

    def apply_service_error(self, error, field_map=None) -> None:
        """Show a service's InvalidInput at the matching form field (or above the form)."""
        field = (field_map or {}).get(error.field, error.field)
        field = field if field in self.fields else None
        self.add_error(field, error.detail)
        if field:
            self._mark_error(field)


class LoginForm(KernForm):
    username = forms.CharField(
        label="Benutzername", max_length=150,
        error_messages={"required": "Bitte geben Sie Ihren Benutzernamen ein."},
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none",
                                      "spellcheck": "false", "autofocus": True}))
    password = forms.CharField(
        label="Passwort", strip=False,
        error_messages={"required": "Bitte geben Sie Ihr Passwort ein."},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    def __init__(self, request, *args, **kwargs):
        self.request = request
        self.user = None
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        username, password = data.get("username"), data.get("password")
        if username and password:
            # Through django.contrib.auth.authenticate so that django-axes counts and locks.
            self.user = authenticate(self.request, username=username, password=password)
            if self.user is None:
                refusal = getattr(self.request, "beistand_login_refusal", None)
                raise forms.ValidationError(refusal or LOGIN_FAILED, code="invalid_login")
        return data


class CodeForm(KernForm):
    code = forms.CharField(
        label="Sechsstelliger Code aus der Authenticator-App", max_length=12,
        error_messages={"required": "Bitte den sechsstelligen Code aus der App eingeben."},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                      "pattern": r"[0-9 ]*", "autofocus": True}))


class GrantForm(KernForm):
    username = forms.CharField(
        label="Benutzer/in (Benutzername)", max_length=150,
        error_messages={"required": "Bitte den Benutzernamen angeben."},
        widget=forms.TextInput(attrs={"autocomplete": "off", "list": "grant-users",
                                      "autocapitalize": "none", "spellcheck": "false"}))
    role = forms.ChoiceField(
        label="Rolle", choices=[("", "– bitte wählen –")] + [(r.value, r.label)
                                                            for r in GRANTABLE_ROLES],
        error_messages={"required": "Bitte eine Rolle wählen.",
                        "invalid_choice": "Diese Rolle kann nicht vergeben werden."})
    reason = forms.CharField(
        label="Begründung / dienstlicher Bedarf", max_length=500,
        error_messages={"required": "Bitte den dienstlichen Bedarf begründen.",
                        "max_length": "Höchstens 500 Zeichen."},
        widget=forms.Textarea(attrs={"rows": 3}))
    expires_on = forms.DateField(
        label="Gültig bis einschließlich", required=False,
        help_text="Für die Abfrageberechtigung Pflicht. Leer lassen: unbefristet.",
        error_messages={"invalid": "Bitte ein Datum im Format TT.MM.JJJJ angeben."},
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d.%m.%Y"])

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        user = User.objects.filter(username__iexact=username).first()
        if user is None:
            raise forms.ValidationError("Diesen Benutzer gibt es nicht.")
        self.cleaned_data["user"] = user
        return username

    def expires_at(self):
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        # "valid until" a day means to the end of that day, local time.
        return timezone.make_aware(datetime.combine(day, time(23, 59, 59)))


class RevokeGrantForm(KernForm):
    reason = forms.CharField(
        label="Grund des Entzugs", max_length=500,
        error_messages={"required": "Bitte den Entzug begründen."})


class DeviceForm(KernForm):
    name = forms.CharField(
        label="Bezeichnung", max_length=100,
        error_messages={"required": "Bitte eine Bezeichnung angeben."},
        widget=forms.TextInput(attrs={"autocomplete": "off"}))
    kind = forms.ChoiceField(
        label="Art", choices=[("", "– bitte wählen –"), *DeviceToken.Kind.choices],
        error_messages={"required": "Bitte die Geräteart wählen.",
                        "invalid_choice": "Unbekannte Geräteart."})
    room = forms.ModelChoiceField(
        label="Raum", required=False, empty_label="– kein Raum –",
        queryset=Room.objects.select_related("floor__building__site")
        .order_by("floor__building__site__name", "floor__building__name", "number"),
        error_messages={"invalid_choice": "Diesen Raum gibt es nicht."})
    username = forms.CharField(
        label="Gebunden an Benutzer/in (Benutzername)", max_length=150, required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none",
                                      "spellcheck": "false"}))
    alarm_templates = forms.CharField(
        label="Auslösbare Alarmvorlagen (Kennungen, durch Komma getrennt)", max_length=200,
        required=False, help_text="Leer: nur „beistand“. Ein Probealarm ist immer möglich.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none",
                                      "spellcheck": "false"}))

    def clean_username(self):
        username = (self.cleaned_data.get("username") or "").strip()
        if not username:
            return ""
        user = User.objects.filter(username__iexact=username).first()
        if user is None:
            raise forms.ValidationError("Diesen Benutzer gibt es nicht.")
        self.cleaned_data["user"] = user
        return username
