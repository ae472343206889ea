"""Sets up django-helpdesk 2.6.1 for the side-by-side bench; idempotent, standard library only.

    python bench/peers/django_helpdesk/setup.py                       # the venv only
    python bench/peers/django_helpdesk/setup.py --database-url URL    # and migrate + seed URL

1. A throwaway venv under var/peers/django-helpdesk/venv (var/ is git-ignored), with the pinned
   requirements.txt beside this file; it is reinstalled only when that file changes (its hash is
   kept in the venv).
2. With a database URL (an empty database on the same PostgreSQL server as our system's, made by
   the bench and dropped after it): Django's `migrate` for the project in project/ (settings in
   project/peer_site/settings.py), then project/seed.py: the customer, a staff API user with a
   token, the "networks" queue. Prints the seed's JSON line last.

`python -m bench --peer django-helpdesk` calls both; nothing of django-helpdesk's own is ever
committed here."""
import argparse
import hashlib
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
VAR = ROOT / "var" / "peers" / "django-helpdesk"
VENV = VAR / "venv"
PYTHON = VENV / "bin" / "python"
PROJECT = HERE / "project"
REQUIREMENTS = HERE / "requirements.txt"
STAMP = VENV / ".requirements.sha256"


def install(python=sys.executable, quiet=True):
    """The venv with the pinned requirements; does nothing when they are installed already."""
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted and PYTHON.exists():
        return PYTHON
    VAR.mkdir(parents=True, exist_ok=True)
    if not PYTHON.exists():
        # the base interpreter of the running one (python -m venv from inside a venv makes a
        # fresh venv, not a copy): the same Python as our services run on
        subprocess.run([python, "-m", "venv", str(VENV)], check=True)
    print(f"peer: installing django-helpdesk into {VENV.relative_to(ROOT)} ...", file=sys.stderr, flush=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", *(["-q"] if quiet else [])]
    subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
    subprocess.run([str(PYTHON), "-m", "pip", "check"], check=True, stdout=subprocess.DEVNULL)
    STAMP.write_text(wanted + "\n")
    return PYTHON


def environment(database_url, smtp_port=2525, state_dir=None):
    """The environment the peer's Django project runs with (see project/peer_site/settings.py)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("DJANGO_", "PYTHON"))}
    env.update(
        DJANGO_SETTINGS_MODULE="peer_site.settings",
        PYTHONPATH=str(PROJECT),
        PYTHONDONTWRITEBYTECODE="1",  # no __pycache__ inside bench/peers/
        PEER_DATABASE_URL=database_url,
        PEER_SMTP_PORT=str(smtp_port),
        PEER_STATE_DIR=str(state_dir or VAR / "state"),
    )
    return env


def prepare(database_url, smtp_port=2525, state_dir=None):
    """migrate + seed on `database_url`; returns the seed's JSON line (token, queue id)."""
    env = environment(database_url, smtp_port, state_dir)
    subprocess.run([str(PYTHON), "-m", "django", "migrate", "--noinput", "-v", "0"],
                   cwd=PROJECT, env=env, check=True)
    done = subprocess.run([str(PYTHON), str(PROJECT / "seed.py")], cwd=PROJECT, env=env, check=True,
                          stdout=subprocess.PIPE, text=True)  # errors to the terminal
    return done.stdout.strip().splitlines()[-1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="migrate and seed this (empty or already set up) database")
    parser.add_argument("--verbose", action="store_true", help="show pip's output")
    args = parser.parse_args(argv)
    print(install(quiet=not args.verbose))
    if args.database_url:
        print(prepare(args.database_url))


if __name__ == "__main__":
    main()
