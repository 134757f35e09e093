"""Shared test support: local stand-ins of the platforms' APIs (HTTP and SFTP) on loopback."""
