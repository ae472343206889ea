"""Routing: department rules, agents' load and queue order (issue 5)."""
