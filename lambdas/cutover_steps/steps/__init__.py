"""The release steps. Each module holds one step's domain logic and its Lambda `handler`."""
