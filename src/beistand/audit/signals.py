"""Records every ORM write of registered models in the audit chain.

Apps register their personal-data models with ``audited(Model, exclude=...)`` in their
``AppConfig.ready``. A write outside ``transaction.atomic()`` is refused *before* it happens, so
an action can never commit without its audit row. ``QuerySet.update()`` and raw SQL bypass
signals; services must not use them on audited models.
"""

from django.db.models.signals import post_delete, post_save, pre_save
from django.forms.models import model_to_dict

from beistand.audit.services import AuditOutsideTransaction, in_transaction, record

_registry: dict[type, frozenset[str]] = {}
_ALWAYS_EXCLUDED = frozenset({"password", "token_hash", "key", "secret"})


def audited(model, exclude: tuple[str, ...] = ()):
    """Register ``model``: its creates, updates and deletes are audited with before/after."""
    _registry[model] = _ALWAYS_EXCLUDED | frozenset(exclude)
    uid = f"audit-{model._meta.label}"
    pre_save.connect(_before_save, sender=model, dispatch_uid=uid + "-pre")
    post_save.connect(_after_save, sender=model, dispatch_uid=uid + "-post")
    post_delete.connect(_after_delete, sender=model, dispatch_uid=uid + "-del")
    return model


def snapshot(instance) -> dict:
    excluded = _registry.get(type(instance), _ALWAYS_EXCLUDED)
    data = model_to_dict(instance)
    # model_to_dict skips non-editable fields; add them (e.g. timestamps) for completeness.
    for field in instance._meta.concrete_fields:
        if field.name not in data:
            data[field.name] = field.value_from_object(instance)
    data = {k: v for k, v in data.items() if k not in excluded}
    for key, value in list(data.items()):
        if hasattr(value, "pk"):
            data[key] = value.pk
        elif isinstance(value, list | tuple) and value and hasattr(value[0], "pk"):
            data[key] = sorted(item.pk for item in value)
        elif hasattr(value, "name") and hasattr(value, "storage"):  # FieldFile
            data[key] = value.name or None
    return data


def _require_transaction(instance):
    if not in_transaction():
        raise AuditOutsideTransaction(
            f"write to audited {instance._meta.label} outside transaction.atomic()")


def _before_save(sender, instance, raw=False, **kwargs):
    if raw:
        return
    _require_transaction(instance)
    before = None
    if instance.pk is not None:
        old = sender._default_manager.filter(pk=instance.pk).first()
        if old is not None:
            before = snapshot(old)
    instance._audit_before = before


def _after_save(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    before = getattr(instance, "_audit_before", None)
    after = snapshot(instance)
    label = f"{instance._meta.app_label}.{instance._meta.model_name}"
    if created or before is None:
        record(f"{label}.create", obj=instance, after=after)
        return
    changed = sorted(k for k in after if before.get(k) != after.get(k))
    if not changed:
        return
    record(f"{label}.update", obj=instance,
           before={k: before.get(k) for k in changed}, after={k: after[k] for k in changed})


def _after_delete(sender, instance, **kwargs):
    _require_transaction(instance)
    label = f"{instance._meta.app_label}.{instance._meta.model_name}"
    record(f"{label}.delete", obj=instance, before=snapshot(instance))
