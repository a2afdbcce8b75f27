"""Read the forms of a rendered page and post them the way a browser would.

Tests post what the page offers, plus what a user types, so a button that sends fewer fields
than the service expects is caught. A browser sends: each enabled input with its value
(checkboxes and radios only when checked, no files unless chosen), the selected options of
each select (the first option of a single select when none is marked), each textarea's text,
and the name/value of the pressed button; it posts to the button's ``formaction`` or the
form's action (an empty action posts to the page itself). Typing into a field the form does
not have, or pressing a button it does not have, fails the test.

- ``forms_of(html)`` / ``forms_on(html, page)``: the page's forms (``forms_on`` fills an empty
  action with the page's address);
- ``find_form(html, action=None, button=None, page="")``: the POST form posting to ``action``
  (its path or the path's end; the page itself when None), holding ``button`` if named;
- ``form_posting_to(html, action_part)``: the same, ``""`` for the page itself;
- ``PageForm.data(button=None, **typed)``: what the browser sends, for ``client.post``;
- ``submit(client, page, typed, action=..., button=...)``: GET ``page``, fill the form, post it;
- ``submit_on(client, html, typed, action=..., button=..., page=...)``: the same on HTML at hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

BASE = "http://localhost"
# Request options that describe the browser itself, so they go with the GET of the page too.
_BROWSER_OPTIONS = ("environ_base", "headers")


@dataclass
class Control:
    tag: str  # input, select, textarea, button
    type: str  # the input's or button's type; "select" or "textarea" for those
    name: str
    value: str  # a textarea's text; a single select's chosen option
    options: list[str] = field(default_factory=list)  # a select's option values, in order
    selected: list[str] = field(default_factory=list)  # those marked selected
    checked: bool = False
    multiple: bool = False
    disabled: bool = False
    text: str = ""  # a button's label (its text, or an input button's value)
    attrs: dict[str, str] = field(default_factory=dict)

    @property
    def is_button(self) -> bool:
        if self.tag == "button":
            return self.type == "submit"
        return self.tag == "input" and self.type in ("submit", "image")

    @property
    def formaction(self) -> str | None:
        return self.attrs.get("formaction")


@dataclass
class PageForm:
    action: str
    method: str
    enctype: str = ""
    attrs: dict[str, str] = field(default_factory=dict)
    controls: list[Control] = field(default_factory=list)

    @property
    def names(self) -> set[str]:
        """Every enabled named control, files and buttons included: what a user can fill."""
        return {c.name for c in self.controls if c.name and not c.disabled}

    def buttons(self) -> list[Control]:
        return [c for c in self.controls if c.is_button and not c.disabled]

    def field(self, name: str) -> Control:
        found = [c for c in self.controls if c.name == name]
        assert found, f"the form {self.action} has no field {name!r}: {sorted(self.names)}"
        return found[0]

    def has_button(self, label: str) -> bool:
        return any(_labelled(b, label) for b in self.buttons())

    def button(self, label: str | None = None) -> Control:
        """The submit button with this label: the one whose text, value or name it is, else
        the first whose text contains it; the first button if None."""
        buttons = self.buttons()
        assert buttons, f"the form {self.action} has no submit button"
        if label is None:
            return buttons[0]
        exact = [b for b in buttons if label in (b.text, b.value, b.name)]
        found = exact or [b for b in buttons if label in b.text]
        assert found, f"no button {label!r} in the form {self.action}: {[b.text for b in buttons]}"
        return found[0]

    def data(self, button: str | None = None, **typed: Any) -> dict[str, Any]:
        """What the browser sends: every successful control's value, the pressed button (the
        first one unless named by its label, value or name; none if the form has none), with
        the user's typing in place of the page's values. Several values of a name are a list."""
        return self.filled(typed, button)

    def filled(
        self, typed: dict[str, Any] | None = None, button: str | None = None
    ) -> dict[str, Any]:
        typed = dict(typed or {})
        unknown = set(typed) - self.names
        assert not unknown, f"the form {self.action} has no fields {unknown}: {sorted(self.names)}"
        pressed = self.button(button) if button is not None or self.buttons() else None
        sent: dict[str, Any] = {}

        def add(name: str, value: Any) -> None:
            if name in sent:
                before = sent[name]
                sent[name] = [*(before if isinstance(before, list) else [before]), value]
            else:
                sent[name] = value

        for c in self.controls:
            if not c.name or c.disabled or c.name in typed or c.is_button:
                continue
            if c.tag == "input" and c.type in ("checkbox", "radio"):
                if c.checked:
                    add(c.name, c.value or "on")
            elif c.tag == "input" and c.type in ("file", "reset", "button"):
                continue
            elif c.tag == "select":
                # A single select sends its last selected option, else its first.
                chosen = c.selected if c.multiple else (c.selected[-1:] or c.options[:1])
                if c.multiple and not chosen:
                    sent.setdefault(c.name, [])
                for value in chosen:
                    add(c.name, value)
            else:
                add(c.name, c.value)
        sent.update(typed)
        if pressed is not None and pressed.name:
            sent[pressed.name] = pressed.value
        return sent

    def target(self, page: str = "", button: str | None = None) -> str:
        """Where pressing ``button`` posts: its formaction, else the action, else the page."""
        pressed = self.button(button) if button is not None or self.buttons() else None
        action = (pressed.formaction if pressed is not None else None) or self.action or page
        url = urlsplit(urljoin(BASE + (page or "/"), action))
        return url.path + (f"?{url.query}" if url.query else "")


def _labelled(button: Control, label: str) -> bool:
    return label in (button.text, button.value, button.name) or label in button.text


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[PageForm] = []
        self._form: PageForm | None = None
        self._select: Control | None = None
        self._option: tuple[str | None, bool, list[str]] | None = None
        self._text_of: Control | None = None  # the open textarea or button
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs_list}
        if tag == "form":
            self._form = PageForm(
                action=a.get("action", ""),
                method=a.get("method", "get").lower(),
                enctype=a.get("enctype", ""),
                attrs=a,
            )
            self.forms.append(self._form)
            return
        form = self._form
        if form is None:
            return
        disabled = "disabled" in a
        if tag == "input":
            kind = a.get("type", "text").lower()
            value = a.get("value", "")
            form.controls.append(Control(
                "input", kind, a.get("name", ""), value, checked="checked" in a,
                disabled=disabled, text=value if kind in ("submit", "image") else "", attrs=a,
            ))  # fmt: skip
        elif tag == "select":
            self._select = Control(
                "select", "select", a.get("name", ""), "", multiple="multiple" in a,
                disabled=disabled, attrs=a,
            )  # fmt: skip
            form.controls.append(self._select)
        elif tag == "option" and self._select is not None:
            # A disabled option can be neither chosen nor sent: it is not one of the choices.
            self._option = None if disabled else (a.get("value"), "selected" in a, [])
        elif tag in ("textarea", "button"):
            kind = "textarea" if tag == "textarea" else a.get("type", "submit").lower()
            control = Control(tag, kind, a.get("name", ""), a.get("value", ""),
                              disabled=disabled, attrs=a)  # fmt: skip
            form.controls.append(control)
            self._text_of, self._text = control, []

    def handle_data(self, data: str) -> None:
        if self._option is not None:
            self._option[2].append(data)
        elif self._text_of is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "option" and self._option is not None and self._select is not None:
            value, selected, text = self._option
            value = value if value is not None else "".join(text).strip()
            select = self._select
            select.options.append(value)
            if selected:
                select.selected.append(value)
            if not select.multiple and (selected or len(select.options) == 1):
                select.value = value
            self._option = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._text_of is not None:
            text = "".join(self._text)
            # A browser drops the newline that follows <textarea>.
            text = text[2:] if text.startswith("\r\n") else text.removeprefix("\n")
            self._text_of.value = self._text_of.text = text
            self._text_of = None
        elif tag == "button" and self._text_of is not None:
            self._text_of.text = " ".join("".join(self._text).split())
            self._text_of = None


def forms_of(html: str) -> list[PageForm]:
    """The page's forms, their actions as written (empty: the page itself)."""
    parser = _Parser()
    parser.feed(html)
    return parser.forms


def forms_on(html: str, page: str = "") -> list[PageForm]:
    """The page's forms; an empty action posts to the page itself (``page``)."""
    forms = forms_of(html)
    for form in forms:
        form.action = form.action or page
    return forms


def _path(url: str, page: str) -> str:
    return urlsplit(urljoin(BASE + (urlsplit(page).path or "/"), url)).path


def find_form(
    html: str, action: str | None = None, button: str | None = None, page: str = ""
) -> PageForm:
    """The POST form posting to ``action`` (a path, or its end; the action or one of its
    buttons' formaction), holding the button ``button`` when named; with ``action`` None,
    the form posting to the page itself."""
    posting = [f for f in forms_of(html) if f.method == "post"]
    page_path = urlsplit(page).path

    def posts_there(f: PageForm) -> bool:
        if action is None:
            return not f.action or f.action in (page, page_path)
        targets = [f.action or page] + [b.formaction for b in f.buttons() if b.formaction]
        return any((p := _path(t, page)) == action or p.endswith(action) for t in targets if t)

    found = [f for f in posting if posts_there(f)]
    if button is not None:
        found = [f for f in found if f.has_button(button)]
    assert found, (
        f"no form posting to {action or 'the page itself'!r} (button {button!r}) on the page:"
        f" {[f.action for f in posting]}"
    )
    return found[0]


def form_posting_to(html: str, action_part: str) -> PageForm:
    """The page's POST form posting to ``action_part`` (its path or the path's end); an empty
    action posts to the page itself: pass ""."""
    return find_form(html, action_part or None)


def submit(
    client: Any,
    page: str,
    typed: dict[str, Any] | None = None,
    *,
    action: str | None = None,
    button: str | None = None,
    **kwargs: Any,
) -> Any:
    """GET ``page``, fill the form posting to ``action`` (the page itself when None) with what
    the user types (only into fields the form has), press ``button`` (by its label, value or
    name; the first when None) and post exactly that. ``kwargs`` go with the post; the
    browser's own (``environ_base``, ``headers``) with the GET too."""
    browser = {k: v for k, v in kwargs.items() if k in _BROWSER_OPTIONS}
    response = client.get(page, **browser)
    assert response.status_code == 200, (page, response.status_code)
    html = response.data.decode()
    return submit_on(client, html, typed, action=action, button=button, page=page, **kwargs)


def submit_on(
    client: Any,
    html: str,
    typed: dict[str, Any] | None = None,
    *,
    action: str | None = None,
    button: str | None = None,
    page: str = "",
    **kwargs: Any,
) -> Any:
    """``submit`` on a page already at hand (``html``, served at ``page``)."""
    form = find_form(html, action, button, page)
    assert form.method == "post", form.method
    data = form.filled(typed, button)
    return client.post(form.target(page, button), data=data, **kwargs)
