"""Screenshots of the main pages at a phone's width (390 px) and a desk's (1366 px), of the
demo served from a fresh database: ``python -m tests.browser.screenshots [folder]``
(docs/screenshots by default) ``[name ...]`` (only those shots). Each is the top of the page: a
phone's one and a half screens, a desk's one (a path ending in "#charts": the report's charts,
however far down they are); pngquant and optipng make them small where installed (Debian: apt
install pngquant optipng; the Chinese needs fonts-noto-cjk).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.browser.conftest import DESK, PHONE, as_user, chromium, demo_site, ids_in_demo

# (file name, who, path): {name} is one of the demo's records (conftest.ids_in_demo); a path
# ending in "#menu" opens the menu (the phone's button, the desk's first drop-down), "#charts"
# shows the report's charts.
SHOTS: list[tuple[str, str | None, str]] = [
    ("home", None, "/"),
    ("disclosure", None, "/disclosure"),
    ("need", None, "/needs/{need}"),
    ("staff-dashboard", "jingyuan_staff", "/dashboard"),
    ("households", "jingyuan_staff", "/households/"),
    ("needs", "jingyuan_staff", "/needs/"),
    ("browse", "appliance", "/needs/browse"),
    ("menu", "city_admin", "/needs/review#menu"),
    ("organizations", "city_admin", "/admin/organizations?status=all"),
    ("report", "city_admin", "/reports/"),
    ("report-charts", "jingyuan_admin", "/reports/#charts"),
]


def take(folder: Path, only: set[str] | None = None) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    with demo_site() as site, chromium() as browser:
        ids = ids_in_demo(site)
        for width_name, viewport in (("phone", PHONE), ("desk", DESK)):
            pages: dict[str | None, Any] = {}
            for name, who, path in SHOTS:
                if only and name not in only:
                    continue
                if who not in pages:
                    pages[who] = as_user(browser, site.url, who, viewport)
                page = pages[who]
                page.goto(site.url + path.format(**ids).partition("#")[0])
                page.wait_for_load_state("load")
                if path.endswith("#menu"):
                    if viewport is PHONE:
                        page.click("button.navbar-toggler")
                        page.wait_for_selector("#mainnav.show")
                    else:
                        page.click("#mainnav button.dropdown-toggle.active")
                        page.wait_for_selector("#mainnav .dropdown-menu.show")
                target = folder / f"{name}-{width_name}.png"
                if path.endswith("#charts"):
                    box = page.evaluate("""() => {
                        const boxes = [...document.querySelectorAll('.report-charts figure')]
                            .map(f => f.getBoundingClientRect());
                        const top = Math.min(...boxes.map(b => b.top)) + window.scrollY - 8;
                        const bottom = Math.max(...boxes.map(b => b.bottom)) + window.scrollY + 8;
                        return {x: 0, y: top, width: window.innerWidth, height: bottom - top};
                    }""")
                    page.screenshot(path=str(target), clip=box, full_page=True)
                    made.append(target)
                    continue
                tall = 1.5 if viewport is PHONE else 1.0  # a phone scrolls; a desk sees one screen
                height = min(page.evaluate("document.documentElement.scrollHeight"),
                             int(viewport["height"] * tall))  # fmt: skip
                page.screenshot(
                    path=str(target),
                    clip={"x": 0, "y": 0, "width": viewport["width"], "height": height},
                    full_page=True,
                )
                made.append(target)
    for target in made:
        _shrink(target)
    return made


def _shrink(target: Path) -> None:
    if shutil.which("pngquant"):
        subprocess.run(["pngquant", "--force", "--skip-if-larger", "--quality=70-90",
                        "--output", str(target), str(target)], check=False)  # fmt: skip
    if shutil.which("optipng"):
        subprocess.run(["optipng", "-quiet", "-o2", str(target)], check=False)


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/screenshots")
    for shot in take(out, set(sys.argv[2:]) or None):
        print(shot, shot.stat().st_size)
