"""Shared test support for every test folder (see tests/README.md): the session's shared state,
landing zones and expectations, warehouse helpers, PostgreSQL, and local stand-ins of the
platforms' APIs (HTTP and SFTP) on loopback."""
