"""Read the forms of a rendered page and post them the way a browser would.

Tests post what the page offers (its inputs, selects, textareas and the pressed button), plus
what a user types, so a button that sends fewer fields than the service expects is caught.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any


@dataclass
class Control:
    tag: str  # input, select, textarea, button
    type: str
    name: str
    value: str
    options: list[str] = field(default_factory=list)
    checked: bool = False
    multiple: bool = False


@dataclass
class PageForm:
    action: str
    method: str
    enctype: str
    controls: list[Control] = field(default_factory=list)

    def buttons(self) -> list[Control]:
        return [c for c in self.controls if c.type == "submit"]

    def field(self, name: str) -> Control:
        return next(c for c in self.controls if c.name == name)

    def names(self) -> set[str]:
        return {c.name for c in self.controls if c.name}

    def data(self, button: str | None = None, **typed: Any) -> dict[str, Any]:
        """What the browser sends: every successful control's value, the pressed button
        (the first one unless named by its name or label), then the user's typing."""
        sent: dict[str, Any] = {}
        for control in self.controls:
            if not control.name or control.type in ("submit", "file", "reset", "image"):
                continue
            if control.type in ("checkbox", "radio"):
                if control.checked:
                    if control.type == "checkbox" and control.name in sent:
                        existing = sent[control.name]
                        sent[control.name] = (
                            [*existing] if isinstance(existing, list) else [existing]
                        )
                        sent[control.name].append(control.value or "on")
                    else:
                        sent[control.name] = control.value or "on"
                continue
            if control.tag == "select" and control.multiple:
                sent[control.name] = [control.value] if control.value else []
                continue
            sent[control.name] = control.value
        pressed = [b for b in self.buttons() if button is None or button in (b.name, b.value)]
        if pressed and pressed[0].name:
            sent[pressed[0].name] = pressed[0].value
        for name, value in typed.items():
            sent[name] = value
        return sent


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[PageForm] = []
        self._form: PageForm | None = None
        self._select: Control | None = None
        self._selected_seen = False
        self._textarea: Control | None = None
        self._button: Control | None = None
        self._option_value: str | None = None
        self._option_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._form = PageForm(
                action=a.get("action", ""),
                method=a.get("method", "get").lower(),
                enctype=a.get("enctype", ""),
            )
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        if tag == "input":
            kind = a.get("type", "text").lower()
            self._form.controls.append(
                Control(
                    "input", kind, a.get("name", ""), a.get("value", ""), checked="checked" in a
                )
            )
        elif tag == "button":
            self._button = Control(
                "button", a.get("type", "submit").lower(), a.get("name", ""), a.get("value", "")
            )
            self._form.controls.append(self._button)
        elif tag == "select":
            self._select = Control(
                "select", "select", a.get("name", ""), "", multiple="multiple" in a
            )
            self._selected_seen = False
            self._form.controls.append(self._select)
        elif tag == "option" and self._select is not None:
            self._option_value = a.get("value")
            self._option_text = ""
            if "selected" in a:
                self._selected_seen = True
                self._pending_selected = True
            else:
                self._pending_selected = False
        elif tag == "textarea":
            self._textarea = Control("textarea", "textarea", a.get("name", ""), "")
            self._form.controls.append(self._textarea)

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.value += data
        if self._option_value is not None or (self._select is not None):
            self._option_text += data
        if self._button is not None and not self._button.value:
            self._button_text = getattr(self, "_button_text", "") + data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "textarea" and self._textarea is not None:
            # A browser drops the newline that follows <textarea>.
            value = self._textarea.value
            self._textarea.value = (
                value[2:] if value.startswith("\r\n") else value.removeprefix("\n")
            )
            self._textarea = None
        elif tag == "button":
            self._button = None
        elif tag == "option" and self._select is not None:
            value = self._option_value if self._option_value is not None else self._option_text
            value = value.strip() if self._option_value is None else value
            self._select.options.append(value)
            if getattr(self, "_pending_selected", False) or (
                not self._selected_seen
                and len(self._select.options) == 1
                and not self._select.multiple
            ):
                self._select.value = value
            self._option_value = None
        elif tag == "select":
            self._select = None


def forms_of(html: str) -> list[PageForm]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def form_posting_to(html: str, action_part: str) -> PageForm:
    """The page's form whose action contains ``action_part`` (an empty action posts to the
    page itself: pass "")."""
    found = [
        f
        for f in forms_of(html)
        if f.method == "post" and (action_part in f.action if action_part else not f.action)
    ]
    assert found, f"no form posting to {action_part!r} on the page"
    return found[0]
