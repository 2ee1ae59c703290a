"""The shipped content and the example contacts, loaded once per test process.

Both are immutable (frozen models), so every test can share them: loading and validating them
costs about 25 ms, paid by every service a test builds otherwise. A test that needs its own file
(a broken one, a draft, a reload) still loads it itself.
"""

from __future__ import annotations

import functools

from flows.contacts import EXAMPLE_CONTACTS, YamlDirectory, load_directory
from flows.schema import Content, load_content


@functools.cache
def shipped_content() -> Content:
    return load_content()


@functools.cache
def example_directory() -> YamlDirectory:
    return load_directory(EXAMPLE_CONTACTS)
