"""The roles an account has, and the named groups of roles the rules use (defined here once).

Below every domain package: the route rules (marketplace.permissions) and every domain read it."""

from __future__ import annotations

from typing import ClassVar

from flask_babel import lazy_gettext as _l

from marketplace.vocab import LabelledEnum


class Role(LabelledEnum):
    DONOR = "donor", _l("Donor")
    STAFF = "staff", _l("Village staff")
    ADMIN = "admin", _l("Administrator")
    AUDITOR = "auditor", _l("Auditor")
    SUPERUSER = "superuser", _l("Superuser")

    # Named groups (assigned below the class: the members must exist first).
    ADMINS: ClassVar[frozenset[Role]]  # administer a region: verify, approve, allocate
    EDITORS: ClassVar[frozenset[Role]]  # keep a village's register and post its needs
    REGION_READERS: ClassVar[frozenset[Role]]  # read what lies in their regions
    PERSONAL_DATA: ClassVar[frozenset[Role]]  # may see unmasked personal data in their regions
    OVERSIGHT: ClassVar[frozenset[Role]]  # read the audit trail and the spot checks
    AUDITORS: ClassVar[frozenset[Role]]  # draw and carry out spot checks


Role.ADMINS = frozenset({Role.ADMIN, Role.SUPERUSER})
Role.EDITORS = frozenset({Role.STAFF, Role.SUPERUSER})
Role.REGION_READERS = frozenset({Role.STAFF, Role.ADMIN, Role.AUDITOR, Role.SUPERUSER})
# Donors, auditors and the public never see personal data unmasked.
Role.PERSONAL_DATA = frozenset({Role.STAFF, Role.ADMIN, Role.SUPERUSER})
Role.OVERSIGHT = frozenset({Role.AUDITOR, Role.ADMIN, Role.SUPERUSER})
Role.AUDITORS = frozenset({Role.AUDITOR, Role.SUPERUSER})
