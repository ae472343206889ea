"""Content: announcements and the network status (Estado de red: components, incidents,
maintenance), event-sourced; what the home page shows besides tickets."""
SCHEMA = "content"
STORAGE = ("eventstore",)
REBUILDS = ("services.content.repository:ContentRebuild",)
