"""Identity: users, companies, sessions and tokens (event-sourced; secrets kept out of events)."""
SCHEMA = "identity"
STORAGE = ("eventstore",)
REBUILDS = ("services.identity.repository:IdentityRebuild",)
