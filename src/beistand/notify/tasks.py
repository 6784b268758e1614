"""Background jobs of the notify app (Django tasks, database backend, run by ``beistand worker``).

Jobs carry only the outbox row's id: the mail itself is in the database, written with the job.
"""

from django.tasks import task


@task()
def deliver_mail(mail_id: int) -> str:
    from beistand.notify import services

    return services.deliver(mail_id)
