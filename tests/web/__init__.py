"""``deploywatch serve``'s HTTP API: endpoints, guards, connections and the OpenAPI document."""
