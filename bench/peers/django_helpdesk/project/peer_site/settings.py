"""A minimal production-like Django project around django-helpdesk 2.6.1, for the side-by-side
bench (`python -m bench --peer django-helpdesk`, docs/performance.md).

Everything that differs between runs comes from the environment, set by
bench/peers/django_helpdesk/__init__.py:
    PEER_DATABASE_URL   postgresql://user@host:port/name, a throwaway database on the same
                        PostgreSQL server our system uses
    PEER_SMTP_PORT      the local SMTP sink (helpdesk.devsmtp, as for our system) on 127.0.0.1
    PEER_STATE_DIR      a scratch directory (media, static)
"""
import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

STATE_DIR = Path(os.environ.get("PEER_STATE_DIR", "/tmp/peer-django-helpdesk"))
SECRET_KEY = os.environ.get("PEER_SECRET_KEY", "bench-only-not-a-secret")
DEBUG = False  # as in production: no query log kept in memory, no debug pages
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",  # django-helpdesk: the site's domain in mails
    "django.contrib.humanize",  # django-helpdesk: elapsed times
    "rest_framework",  # django-helpdesk's API (/api/tickets/)
    "rest_framework.authtoken",  # a token per client, as our bearer token (see REST_FRAMEWORK)
    "django_cleanup.apps.CleanupConfig",
    "helpdesk",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "peer_site.urls"
WSGI_APPLICATION = "peer_site.wsgi.application"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.debug",
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]

_db = urlsplit(os.environ.get("PEER_DATABASE_URL", "postgresql://postgres@127.0.0.1:54329/peer_django_helpdesk"))
_query = {key: values[-1] for key, values in parse_qs(_db.query).items()}  # libpq's ?host=/socket/dir&port=
DATABASES = {"default": {
    "ENGINE": "django.db.backends.postgresql",
    "NAME": _db.path.lstrip("/"),
    "USER": unquote(_db.username or ""),
    "PASSWORD": unquote(_db.password or ""),
    "HOST": _query.get("host") or _db.hostname or "",
    "PORT": _query.get("port") or str(_db.port or ""),
    # Persistent connections, as any production deployment sets: without them every request
    # forks a new PostgreSQL backend (our services keep pools too).
    "CONN_MAX_AGE": 600,
    "CONN_HEALTH_CHECKS": True,
}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Mail goes over SMTP to the same local sink our system sends to; django-helpdesk sends it inside
# the request (fail_silently=True: a failed send is only logged), so the bench counts what arrives.
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = int(os.environ.get("PEER_SMTP_PORT", "2525"))
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = "helpdesk@peer.example"
SERVER_EMAIL = DEFAULT_FROM_EMAIL

LANGUAGE_CODE = "en"
TIME_ZONE = "Europe/Madrid"
USE_I18N = True
USE_TZ = True
SITE_ID = 1
STATIC_URL = "/static/"
STATIC_ROOT = str(STATE_DIR / "static")
MEDIA_ROOT = str(STATE_DIR / "media")
LOGIN_URL = "helpdesk:login"

REST_FRAMEWORK = {
    # A token looked up per request (one query), like our gateway's session check; HTTP Basic
    # would hash the password (PBKDF2) on every request and measure the hasher, not the helpdesk.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],  # no browsable API
}

HELPDESK_TEAMS_MODE_ENABLED = False  # needs pinax-teams; our departments are plain queues
HELPDESK_API_ENABLED = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
