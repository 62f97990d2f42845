"""authkeep's test suite.

Assertions in the helper modules are rewritten like the test modules' own: their failures show
the values, and they run under `python -O` too.
"""

import pytest

pytest.register_assert_rewrite(
    "tests.conformance",
    "tests.email_flows",
    "tests.integrations",
    "tests.mail",
    "tests.signin",
    "tests.support",
)
