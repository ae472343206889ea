"""Run in the peer's venv after `migrate`: the accounts and the queue the bench needs, idempotent.
Prints one JSON line: {"token": ..., "queue": id, "queue_slug": ...}.

Set up like our demo data (services/identity/seed.py): the customer cliente@demo.example is the
submitter of every ticket; the queue "networks" (our department) copies every new ticket to the
company's group user and the department's agent, so a ticket makes three mails in both systems
(requester, group user, agent). django-helpdesk's API takes staff only (IsAdminUser), so the
clients post as a staff API user with a token, naming the customer as submitter_email."""
import json
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peer_site.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.sites.models import Site  # noqa: E402
from helpdesk.models import Queue  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

User = get_user_model()
Site.objects.update_or_create(id=1, defaults={"domain": "127.0.0.1", "name": "peer helpdesk"})
customer, created = User.objects.get_or_create(username="cliente", defaults={"email": "cliente@demo.example"})
if created:
    customer.set_password("demo-password")
    customer.save()
api, created = User.objects.get_or_create(username="bench-api", defaults={"email": "bench-api@peer.example",
                                                                             "is_staff": True})
if created:
    api.set_unusable_password()
    api.save()
token, _ = Token.objects.get_or_create(user=api)
queue, _ = Queue.objects.update_or_create(slug="networks", defaults={
    "title": "Redes",
    "email_address": "networks@peer.example",  # the sender of its mails
    "new_ticket_cc": "soporte@demo.example,agent-networks@helpdesk.example",
    "allow_public_submission": True,
    "escalate_days": 0,
})
print(json.dumps({"token": token.key, "queue": queue.id, "queue_slug": queue.slug}))
