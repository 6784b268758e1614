"""Outbox in the admin: read-only, so the administration sees what was sent, retried or failed."""

from django.contrib import admin

from beistand.notify.models import OutgoingMail


@admin.register(OutgoingMail)
class OutgoingMailAdmin(admin.ModelAdmin):
    list_display = ("created_at", "subject", "recipients", "status", "attempts",
                    "next_attempt_at", "sent_at")
    list_filter = ("status",)
    search_fields = ("reason", "subject")
    readonly_fields = [f.name for f in OutgoingMail._meta.fields]

    @admin.display(description="Empfänger")
    def recipients(self, obj):
        return ", ".join(obj.to) or "–"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
