"""The contacts directory: whom to call, for which service, in or out of hours.

- ``model``: the contact roles' lines and the ``Directory`` protocol the screens use, with the
  national numbers and ``GenericDirectory`` (no contacts file);
- ``file``: the contacts file's schema, built on ``phones`` (UK numbers) and ``hours`` (opening
  hours and the gaps they leave);
- ``directory``: a contacts file loaded and checked, as a ``Directory`` (``YamlDirectory``);
- ``deployment``: what still stops a contacts file from being used with real practitioners.

The names most callers need are here; the rest are in their modules.
"""

from flows.contacts.directory import (
    EXAMPLE_CONTACTS,
    ContactsError,
    YamlDirectory,
    load_directory,
    parse_directory,
)
from flows.contacts.model import NATIONAL, ContactLine, Directory, GenericDirectory, Route

__all__ = [
    "EXAMPLE_CONTACTS",
    "NATIONAL",
    "ContactLine",
    "ContactsError",
    "Directory",
    "GenericDirectory",
    "Route",
    "YamlDirectory",
    "load_directory",
    "parse_directory",
]
