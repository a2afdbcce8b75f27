"""Bootstrap's CSS trimmed to what the pages use (issue 17): the full stylesheet Bootstrap-Flask
vendors (bootstrap5/css/bootstrap.min.css, 230 KiB) run through PurgeCSS over the templates, the
Bootstrap-Flask form macros they call, our JavaScript and the Python that names classes, into
static/vendor/bootstrap/bootstrap.min.css (committed; the pages link it: marketplace/static_files).
Run it again after adding Bootstrap classes to a template, and commit the output:

    npm install --prefix /tmp/purge purgecss
    python scripts/trim_bootstrap.py [--purgecss /tmp/purge/node_modules/.bin/purgecss] [--check]

``--check`` fails (exit 1) when the committed file differs from what the script makes.

Classes a template builds from a value (``bg-{{ status.tone }}``, ``text-bg-{{ tone }}``,
``alert-{{ category }}``, ``btn-{{ style }}``) never appear whole in any file: every colour of
those families is kept (SAFELIST_PATTERNS), as are the states Bootstrap's JavaScript sets
(``show``, ``collapsing``...) and the classes of Bootstrap-Flask's macros' settings.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "static" / "vendor" / "bootstrap" / "bootstrap.min.css"
COLOURS = "primary|secondary|success|danger|warning|info|light|dark|body|white|black|muted"
SAFELIST_PATTERNS = [
    # classes made from a tone (marketplace/vocab.py and the enums' tones, flash categories,
    # post_button's style: 'success', 'outline-danger'...)
    rf"^(bg|text-bg|text|alert|btn|btn-outline)-({COLOURS})$",
    r"^col-(sm|md|lg|xl)-\d+$",  # col-md-{{ 2 if ... else 4 }}, the form macros' columns
]
SAFELIST = [
    # set by Bootstrap's collapse and dropdown scripts
    "show", "showing", "hiding", "collapsing", "collapse", "collapse-horizontal", "active",
    "disabled", "dropdown-menu-end", "dropdown-menu-start", "dropup", "dropend", "dropstart",
    # Bootstrap-Flask's settings (BOOTSTRAP_BTN_STYLE, _SIZE, _FORM_GROUP_CLASSES) and macros
    "btn-primary", "btn-md", "mb-3", "required", "is-invalid", "is-valid", "invalid-feedback",
    "was-validated", "form-switch", "form-check-inline",
]  # fmt: skip


def full_stylesheet() -> Path:
    import flask_bootstrap

    return Path(flask_bootstrap.__file__).parent / "static/bootstrap5/css/bootstrap.min.css"


def content() -> list[str]:
    import flask_bootstrap

    macros = Path(flask_bootstrap.__file__).parent / "templates" / "bootstrap5"
    return [
        str(ROOT / "templates" / "**" / "*.html"),
        str(ROOT / "static" / "js" / "**" / "*.js"),
        str(ROOT / "marketplace" / "**" / "*.py"),
        str(macros / "*.html"),
    ]


def trim(purgecss: str) -> str:
    source = full_stylesheet()
    text = source.read_text(encoding="utf-8")
    banner_end = text.index("*/") + 2
    banner = text[len('@charset "UTF-8";') : banner_end]
    with tempfile.TemporaryDirectory(prefix="trim-bootstrap-") as folder:
        config = Path(folder) / "purgecss.config.json"
        config.write_text(
            json.dumps(
                {
                    "content": content(),
                    # our stylesheets too: the variables they read stay
                    "css": [str(source), *map(str, sorted((ROOT / "static/css").glob("*.css")))],
                    "output": folder,
                    "keyframes": True,
                    "fontFace": True,
                    "variables": True,
                    "safelist": {
                        "standard": SAFELIST,
                        "deep": [],
                        "greedy": [],
                    },
                }
            ),
            encoding="utf-8",
        )
        # The regular expressions go in a JavaScript config (JSON has no regex literals).
        script = Path(folder) / "purgecss.config.cjs"
        patterns = ", ".join(f"/{p}/" for p in SAFELIST_PATTERNS)
        script.write_text(
            "const base = require(" + json.dumps(str(config)) + ");\n"
            "base.safelist.standard = base.safelist.standard.concat([" + patterns + "]);\n"
            "module.exports = base;\n",
            encoding="utf-8",
        )
        subprocess.run(
            [purgecss, "--config", str(script), "--output", folder], check=True, cwd=folder
        )
        trimmed = (Path(folder) / source.name).read_text(encoding="utf-8")
    trimmed = trimmed.removeprefix('@charset "UTF-8";').strip()
    if not trimmed.startswith("/*!"):  # the licence notice stays at the top
        trimmed = banner + trimmed
    header = (
        "/* Trimmed by scripts/trim_bootstrap.py from Bootstrap-Flask's bootstrap.min.css: "
        "only the rules the templates use. Do not edit; run the script. */"
    )
    return '@charset "UTF-8";' + header + "\n" + trimmed + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--purgecss",
        default=shutil.which("purgecss") or "/tmp/purge/node_modules/.bin/purgecss",
    )
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    made = trim(args.purgecss)
    if args.check:
        same = OUTPUT.exists() and OUTPUT.read_text(encoding="utf-8") == made
        print(f"{OUTPUT.relative_to(ROOT)} {'is up to date' if same else 'is out of date'}")
        return 0 if same else 1
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(made, encoding="utf-8")
    full = full_stylesheet().stat().st_size
    print(f"{OUTPUT.relative_to(ROOT)}: {len(made.encode()):,} bytes (full: {full:,})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
