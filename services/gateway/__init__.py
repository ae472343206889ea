"""Gateway: the portal's HTTP API (`/api/v1`), OpenAPI document and static files. Stateless."""
