"""Registers the ``e2e`` marker for the end-to-end tests in this folder."""


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "e2e: end-to-end test against a real OpenID provider (needs Node.js and "
        "`npm ci` in tests/e2e; skipped without them unless CI is set)",
    )
