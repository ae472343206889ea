"""Other helpdesks, run on this machine to be measured next to ours (`python -m bench --peer`).

Only scripts and settings live here: each peer's own code is pip-installed into a throwaway venv
under var/peers/ (git-ignored) by its setup script."""
