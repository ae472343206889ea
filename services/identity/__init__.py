"""Identity: users, companies, sessions and tokens (event-sourced). Issue 3 fills it in."""
