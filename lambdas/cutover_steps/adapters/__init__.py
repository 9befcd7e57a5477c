"""Thin wrappers over AWS APIs that turn AWS error codes and shapes into the release's terms."""
