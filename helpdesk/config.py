"""Configuration: one YAML file with `${VAR:default}` placeholders, shared by services and scripts.

Services get it from `nameko run --config config.yaml`; scripts (migrate, relay tools, DLQ replay)
load the same file through `load()` so both read exactly the same settings.
"""
import os
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATH = ROOT / "config.yaml"


def load(path=None, env=None):
    """The settings; `env` (name -> value) stands in for the process's environment where given,
    so one process can hold several configurations (services/system.py)."""
    from nameko.cli.main import setup_yaml_parser  # registers the ${VAR:default} resolver

    setup_yaml_parser()
    saved = dict(os.environ)
    try:
        os.environ.update(env or {})
        with open(path or os.environ.get("HELPDESK_CONFIG", DEFAULT_PATH)) as handle:
            return yaml.safe_load(handle)
    finally:
        os.environ.clear()
        os.environ.update(saved)
