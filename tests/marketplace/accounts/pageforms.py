"""Post forms the way the rendered page posts them: fields read from the page's HTML.

A test GETs the page, picks one ``<form>`` (by its action) and posts exactly the fields the
browser would send: inputs with their values (checkboxes and radios only when checked), the
selected options, textareas, and the name/value of the pressed button. What the user types is
given as ``typed``; typing into a field the form does not have fails the test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

from werkzeug.datastructures import MultiDict


@dataclass
class Control:
    tag: str
    name: str
    type: str = ""
    value: str = ""
    checked: bool = False
    multiple: bool = False
    options: list[tuple[str, bool]] = field(default_factory=list)
    text: str = ""
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass
class PageForm:
    action: str
    method: str
    controls: list[Control] = field(default_factory=list)

    @property
    def names(self) -> set[str]:
        return {c.name for c in self.controls if c.name}

    def buttons(self) -> list[Control]:
        return [
            c
            for c in self.controls
            if (c.tag == "button" and c.type in ("", "submit"))
            or (c.tag == "input" and c.type in ("submit", "image"))
        ]

    def button(self, label: str | None = None) -> Control:
        buttons = self.buttons()
        assert buttons, f"form {self.action} has no submit button"
        if label is None:
            return buttons[0]
        for b in buttons:
            if label in (b.text, b.value):
                return b
        raise AssertionError(f"no button {label!r} in form {self.action}")

    def data(self, typed: dict[str, Any] | None = None, button: str | None = None) -> list[Any]:
        typed = dict(typed or {})
        unknown = set(typed) - self.names
        assert not unknown, f"the form {self.action} has no fields {unknown}"
        pairs: list[tuple[str, str]] = []
        for c in self.controls:
            if not c.name or c in self.buttons():
                continue
            if c.name in typed:
                continue
            if c.tag == "input" and c.type in ("checkbox", "radio"):
                if c.checked:
                    pairs.append((c.name, c.value or "on"))
            elif c.tag == "input" and c.type in ("file", "reset", "button"):
                continue
            elif c.tag == "select":
                chosen = [v for v, selected in c.options if selected]
                if not chosen and not c.multiple and c.options:
                    chosen = [c.options[0][0]]
                pairs.extend((c.name, v) for v in chosen)
            elif c.tag == "textarea":
                pairs.append((c.name, c.text))
            else:
                pairs.append((c.name, c.value))
        for name, value in typed.items():
            values = value if isinstance(value, list | tuple) else [value]
            pairs.extend((name, str(v)) for v in values)
        pressed = self.button(button)
        if pressed.name:
            pairs.append((pressed.name, pressed.value))
        return pairs


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[PageForm] = []
        self._form: PageForm | None = None
        self._select: Control | None = None
        self._option: list[Any] | None = None
        self._text_of: Control | None = None

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = {k: v or "" for k, v in attrs_list}
        if tag == "form":
            self._form = PageForm(attrs.get("action", ""), attrs.get("method", "get").lower())
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        if tag == "input":
            self._form.controls.append(
                Control(
                    "input",
                    attrs.get("name", ""),
                    attrs.get("type", "text").lower(),
                    attrs.get("value", ""),
                    "checked" in attrs,
                    attrs=attrs,
                )
            )
        elif tag == "select":
            self._select = Control("select", attrs.get("name", ""), multiple="multiple" in attrs)
            self._form.controls.append(self._select)
        elif tag == "option" and self._select is not None:
            self._option = [attrs.get("value"), "selected" in attrs, ""]
        elif tag in ("textarea", "button"):
            control = Control(
                tag,
                attrs.get("name", ""),
                attrs.get("type", "").lower(),
                attrs.get("value", ""),
                attrs=attrs,
            )
            self._form.controls.append(control)
            self._text_of = control

    def handle_data(self, data: str) -> None:
        if self._option is not None:
            self._option[2] += data
        elif self._text_of is not None:
            self._text_of.text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "option" and self._option is not None and self._select is not None:
            value, selected, text = self._option
            self._select.options.append((value if value is not None else text.strip(), selected))
            self._option = None
        elif tag == "select":
            self._select = None
        elif tag in ("textarea", "button") and self._text_of is not None:
            if tag == "button":
                self._text_of.text = self._text_of.text.strip()
            self._text_of = None


def forms_of(html: str) -> list[PageForm]:
    parser = _Parser()
    parser.feed(html)
    return parser.forms


def find_form(html: str, action: str | None = None, page_url: str = "") -> PageForm:
    """The form posting to ``action`` (a path, or its end); the page's only POST form when
    None."""
    posting = [f for f in forms_of(html) if f.method == "post"]
    if action is None:
        main = [f for f in posting if not f.action or f.action == page_url]
        assert main, "no form posting to the page itself"
        return main[0]
    for f in posting:
        target = urlsplit(urljoin(page_url or "http://localhost/", f.action or page_url)).path
        if target == action or target.endswith(action):
            return f
    raise AssertionError(f"no form posting to {action}: {[f.action for f in posting]}")


def submit(
    client: Any,
    page_url: str,
    typed: dict[str, Any] | None = None,
    *,
    action: str | None = None,
    button: str | None = None,
    **kwargs: Any,
) -> Any:
    """GET ``page_url``, fill the chosen form as a user would and post it as rendered."""
    page = client.get(page_url, **kwargs)
    assert page.status_code == 200, (page_url, page.status_code)
    form = find_form(page.data.decode(), action, urlsplit(page_url).path)
    target = urljoin("http://localhost" + urlsplit(page_url).path, form.action or page_url)
    return client.post(urlsplit(target).path, data=MultiDict(form.data(typed, button)), **kwargs)
