"""Built-in collector components, one package per upstream component type."""
