"""A certificate of contribution (帮扶证明): issued on the form its page shows, printable, and
checked by anyone on /verify; a code never issued, or a certificate changed in the database,
does not verify."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from marketplace.followups import certificates
from marketplace.followups.models import Certificate
from marketplace.households.models import Household
from marketplace.timefmt import beijing_today
from tests.conftest import World
from tests.marketplace.followups.conftest import months_ago
from tests.pages import submit

CODE = re.compile(r'id="certificate-code">([A-Z2-7-]+)<')


def _issue(browser: Any, path: str = "/impact/certificate", **typed: str) -> Any:
    month = beijing_today().strftime("%Y-%m")
    return submit(browser, path, {"first_month": month, "last_month": month, **typed})


def test_a_donor_issues_a_certificate_and_anyone_checks_it(
    app: Any, client: Any, client_of: Any, db: Any, world: World, confirmed: Any
) -> None:
    confirmed("jobs", days_ago=months_ago(1) + 1)
    confirmed("goods")
    donor = client_of("donor")
    impact_page = donor.get("/impact/").get_data(as_text=True)
    assert f'href="/impact/certificate?org={world.org.id}"' in impact_page
    issued = _issue(donor)
    assert issued.status_code == 302, issued.get_data(as_text=True)[:3000]
    printable = donor.get(issued.location).get_data(as_text=True)
    assert "帮扶证明" in printable and "css/certificate." in printable  # (fingerprinted)
    code = CODE.search(printable).group(1)
    assert re.fullmatch(r"([A-Z2-7]{4}-){4}[A-Z2-7]{4}", code)
    assert f"/verify?code={code}" in printable
    # anyone, signed out: the code typed (any case, without dashes) shows what it certifies
    checked = submit(client, "/verify", {"code": code.replace("-", " ").lower()})
    html = checked.get_data(as_text=True)
    assert checked.status_code == 200 and 'id="verified"' in html
    assert world.org.name in html and "惠及建档立卡贫困户 2 户" in html
    for household in db.session.scalars(sa.select(Household)):
        assert household.head_name not in html and household.head_name not in printable
    linked = client.get(f"/verify?code={code}")
    assert linked.status_code == 200 and 'id="verified"' in linked.get_data(as_text=True)


def test_a_tampered_code_is_refused_at_the_field(
    client: Any, client_of: Any, db: Any, world: World, confirmed: Any
) -> None:
    confirmed("goods")
    certificate = certificates.issue(
        world.donor, world.org, beijing_today().replace(day=1), beijing_today().replace(day=1)
    )
    db.session.commit()
    code = certificate.code
    swapped = ("B" if code[0] != "B" else "C") + code[1:]
    refused = submit(client, "/verify", {"code": swapped})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 404 and 'id="verified"' not in html
    assert "验证未通过" in html and swapped in html  # at the field, as typed
    assert world.org.name not in html
    short = submit(client, "/verify", {"code": "ABCD-1234"})
    assert short.status_code == 400 and "20 位" in short.get_data(as_text=True)
    assert client.get(f"/verify?code={swapped}").status_code == 404


def test_a_certificate_changed_in_the_database_no_longer_verifies(
    client: Any, db: Any, world: World, confirmed: Any
) -> None:
    confirmed("goods")
    month = beijing_today().replace(day=1)
    certificate = certificates.issue(world.donor, world.org, month, month)
    db.session.commit()
    assert submit(client, "/verify", {"code": certificate.code}).status_code == 200
    forged = dict(certificate.content, households=500)
    db.session.execute(
        sa.update(Certificate).where(Certificate.id == certificate.id).values(content=forged)
    )
    db.session.commit()
    refused = submit(client, "/verify", {"code": certificate.code})
    assert refused.status_code == 404 and "500" not in refused.get_data(as_text=True)


def test_the_code_depends_on_the_key_outside_the_database(
    app: Any, db: Any, world: World, confirmed: Any, monkeypatch: Any
) -> None:
    confirmed("goods")
    month = beijing_today().replace(day=1)
    certificate = certificates.issue(world.donor, world.org, month, month)
    assert certificates.verify(certificate.code) == certificate
    monkeypatch.setitem(app.config, "CERTIFICATE_KEY", "a key of its own")
    assert certificates.code_of(certificate.content) != certificate.code
    try:
        certificates.verify(certificate.code)
    except certificates.ServiceError as refused:
        assert refused.status == 404
    else:
        raise AssertionError("verified under another key")


def test_the_period_is_checked_at_its_field_with_the_input_kept(
    client_of: Any, db: Any, world: World, confirmed: Any
) -> None:
    donor = client_of("donor")
    nothing = _issue(donor)  # no confirmed help yet
    assert nothing.status_code == 400 and "无可证明的内容" in nothing.get_data(as_text=True)
    confirmed("goods")
    backwards = _issue(donor, first_month="2026-12", last_month="2026-01")
    html = backwards.get_data(as_text=True)
    assert backwards.status_code == 400 and "截止月份不能早于起始月份。" in html
    assert 'value="2026-01"' in html and 'value="2026-12"' in html
    malformed = _issue(donor, first_month="2026-13")
    assert malformed.status_code == 400 and 'value="2026-13"' in malformed.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Certificate.id))) == 0


def test_administrators_certify_an_organization_and_others_may_not(
    client_of: Any, db: Any, world: World, confirmed: Any
) -> None:
    confirmed("goods")
    path = f"/impact/certificate?org={world.org.id}"
    issued = _issue(client_of("admin"), path)
    assert issued.status_code == 302
    assert db.session.scalars(sa.select(Certificate)).one().issued_by_id == world.admin.id
    assert client_of("auditor").get(path).status_code == 403  # reads the impact, issues none
    assert client_of("staff").get(path).status_code == 404
