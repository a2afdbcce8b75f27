"""Post forms the way the rendered page posts them: the fields and the pressed button are read
from the page's HTML, the test adds only what a user types or chooses."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any


@dataclass
class Button:
    name: str
    value: str
    text: str
    attrs: dict[str, str]
    formaction: str | None = None


@dataclass
class PageForm:
    action: str
    method: str
    attrs: dict[str, str]
    fields: list[tuple[str, str]] = field(default_factory=list)
    names: set[str] = field(default_factory=set)  # every named control, files included
    buttons: list[Button] = field(default_factory=list)

    def button(self, text: str) -> Button:
        found = [b for b in self.buttons if text in b.text or text == b.name]
        assert found, f"no button {text!r} in {[b.text for b in self.buttons]}"
        return found[0]


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[PageForm] = []
        self._form: PageForm | None = None
        self._select: tuple[str, list[tuple[str, bool]]] | None = None
        self._option: tuple[str | None, bool, list[str]] | None = None
        self._textarea: tuple[str, list[str]] | None = None
        self._button: tuple[dict[str, str], list[str]] | None = None

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = {k: v or "" for k, v in attrs_list}
        form = self._form
        if tag == "form":
            self._form = PageForm(
                attrs.get("action", ""), attrs.get("method", "get").lower(), attrs
            )
            self.forms.append(self._form)
        elif form is None or "disabled" in attrs:
            return
        elif tag == "input":
            kind = attrs.get("type", "text").lower()
            name = attrs.get("name")
            if not name:
                return
            form.names.add(name)
            if kind in ("submit", "image"):
                form.buttons.append(Button(name, attrs.get("value", ""), attrs.get("value", ""),
                                           attrs, attrs.get("formaction")))  # fmt: skip
            elif kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    form.fields.append((name, attrs.get("value", "on")))
            elif kind != "file":
                form.fields.append((name, attrs.get("value", "")))
        elif tag == "select" and attrs.get("name"):
            form.names.add(attrs["name"])
            self._select = (attrs["name"], [])
        elif tag == "option" and self._select is not None:
            self._option = (attrs.get("value"), "selected" in attrs, [])
        elif tag == "textarea" and attrs.get("name"):
            form.names.add(attrs["name"])
            self._textarea = (attrs["name"], [])
        elif tag == "button":
            self._button = (attrs, [])

    def handle_data(self, data: str) -> None:
        for open_ in (self._option, self._textarea, self._button):
            if open_ is not None:
                open_[-1].append(data)

    def handle_endtag(self, tag: str) -> None:
        form = self._form
        if tag == "form":
            self._form = None
        elif form is None:
            return
        elif tag == "option" and self._option is not None and self._select is not None:
            value, selected, text = self._option
            self._select[1].append((value if value is not None else "".join(text).strip(),
                                    selected))  # fmt: skip
            self._option = None
        elif tag == "select" and self._select is not None:
            name, options = self._select
            chosen = [v for v, s in options if s] or [v for v, _s in options[:1]]
            form.fields.extend((name, v) for v in chosen)
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            name, text = self._textarea
            form.fields.append((name, "".join(text).removeprefix("\n")))
            self._textarea = None
        elif tag == "button" and self._button is not None:
            attrs, text = self._button
            if attrs.get("type", "submit").lower() == "submit":
                form.buttons.append(Button(attrs.get("name", ""), attrs.get("value", ""),
                                           " ".join("".join(text).split()), attrs,
                                           attrs.get("formaction")))  # fmt: skip
                if attrs.get("name"):
                    form.names.add(attrs["name"])
            self._button = None


def forms_on(html: str, page: str = "") -> list[PageForm]:
    """The page's forms; an empty action posts to the page itself (``page``)."""
    parser = _Parser()
    parser.feed(html)
    for form in parser.forms:
        form.action = form.action or page
    return parser.forms


def find_form(html: str, action: str, button: str | None = None, page: str = "") -> PageForm:
    """The form whose action (or one of whose buttons' formaction) contains ``action``."""
    found = [
        f for f in forms_on(html, page)
        if action in f.action or any(b.formaction and action in b.formaction for b in f.buttons)
    ]  # fmt: skip
    if button is not None:
        found = [f for f in found if any(button in b.text or button == b.name for b in f.buttons)]
    assert found, f"no form posting to {action!r} (button {button!r}) on the page"
    return found[0]


def submit(
    client: Any, page: str, action: str, button: str, typed: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Any:  # fmt: skip
    """GET ``page``, fill the form posting to ``action`` with what the user types (only into
    fields the form has), press ``button`` (by its text or name) and post exactly that."""
    response = client.get(page)
    assert response.status_code == 200, (page, response.status_code)
    return submit_on(client, response.data.decode(), action, button, typed, page=page, **kwargs)


def submit_on(
    client: Any, html: str, action: str, button: str, typed: dict[str, Any] | None = None,
    page: str = "", **kwargs: Any,
) -> Any:  # fmt: skip
    form = find_form(html, action, button, page)
    pressed = form.button(button)
    typed = typed or {}
    unknown = set(typed) - form.names
    assert not unknown, f"the form has no fields {unknown}; it has {sorted(form.names)}"
    data: dict[str, Any] = {}
    for name, value in form.fields:  # repeated names (several choices) post every value
        if name in data:
            before = data[name]
            data[name] = [*(before if isinstance(before, list) else [before]), value]
        else:
            data[name] = value
    data.update(typed)
    if pressed.name:
        data[pressed.name] = pressed.value
    url = pressed.formaction or form.action
    assert form.method == "post", form.method
    return client.post(url, data=data, **kwargs)
