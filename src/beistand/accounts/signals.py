"""Role groups kept in step with ``ROLE_PERMISSIONS``; login events written to the audit trail."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction

from beistand.audit import services as audit


def sync_role_groups(**kwargs):
    from django.contrib.auth.models import Group, Permission

    from beistand.accounts.roles import GRANTABLE_ROLES, ROLE_PERMISSIONS, group_name

    for role in GRANTABLE_ROLES:
        group, _ = Group.objects.get_or_create(name=group_name(role))
        wanted = []
        for dotted in ROLE_PERMISSIONS.get(role, []):
            app_label, codename = dotted.split(".", 1)
            perm = Permission.objects.filter(content_type__app_label=app_label,
                                             codename=codename).first()
            if perm is not None:
                wanted.append(perm)
        group.permissions.set(wanted)


def _remote(request):
    return (request.META.get("REMOTE_ADDR", "") if request is not None else "") or ""


def _logged_in(sender, request, user, **kwargs):
    with transaction.atomic():
        audit.record("auth.login", obj=user, actor=audit.actor_for_user(user, _remote(request)),
                     object_repr=user.get_username())


def _logged_out(sender, request, user, **kwargs):
    if user is None:
        return
    with transaction.atomic():
        audit.record("auth.logout", obj=user,
                     actor=audit.actor_for_user(user, _remote(request)),
                     object_repr=user.get_username())


def _login_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))[:150]
    with transaction.atomic():
        audit.record("auth.login_failed", object_type="auth.user", object_repr=username,
                     actor=audit.Actor(user=None, label="anonymous", remote_addr=_remote(request)))


def connect_login_events():
    user_logged_in.connect(_logged_in, dispatch_uid="beistand-audit-login")
    user_logged_out.connect(_logged_out, dispatch_uid="beistand-audit-logout")
    user_login_failed.connect(_login_failed, dispatch_uid="beistand-audit-login-failed")


IDENTITY_LOCKED = ("Die E-Mail-Adresse, die Mobilnummer und die Kontoverknüpfung einer Person "
                   "mit einer besonderen Rolle (Datenschutz, Administration, ZKS, Abfrage, "
                   "Personal) können nicht geändert werden: darüber wird die zentrale Anmeldung "
                   "zugeordnet und erreichen sie Alarm-SMS mit Antwortlinks. Bitte zuerst die "
                   "Rolle entziehen; eine Rolle Datenschutz oder Administration bestätigt danach "
                   "eine zweite Person.")


def _guard_identity_fields(sender, instance, raw=False, **kwargs):
    """pre_save of an employee: the fields that link a login to an account (e-mail, account
    link) and the mobile number (alarm SMS with answer links) stay as they are for holders of
    a privileged role, whoever saves - the admin site, the organisation import, a shell
    (issue 16, attack review 2). Also no account with such a role is linked to another
    employee record."""
    from beistand.accounts.services import identity_locked
    from beistand.core.errors import AccessDenied

    # Also for fixtures (``raw``, ``beistand loaddata``): nothing in the project loads
    # fixtures, and an operator's fixture must not redirect a privileged person either.
    old = (type(instance)._default_manager.filter(pk=instance.pk)
           .values("email", "user_id", "mobile_phone").first()
           if instance.pk is not None else None)
    old_user = old["user_id"] if old else None
    email_changed = old is not None and (old["email"] or "").strip().lower() \
        != (instance.email or "").strip().lower()
    # The mobile number gets the alarm SMS with their one-time answer links and the on-call
    # messages: redirected, it would hand them to someone else.
    mobile_changed = old is not None and "".join((old["mobile_phone"] or "").split()) \
        != "".join((instance.mobile_phone or "").split())
    user_changed = old_user != instance.user_id
    if not (email_changed or mobile_changed or user_changed):
        return
    for user_id in {old_user, instance.user_id} - {None}:
        if identity_locked(user_id):
            raise AccessDenied(IDENTITY_LOCKED)


def connect_identity_guard():
    from django.db.models.signals import pre_save

    from beistand.organisation.models import Employee

    pre_save.connect(_guard_identity_fields, sender=Employee,
                     dispatch_uid="beistand-employee-identity-guard")
