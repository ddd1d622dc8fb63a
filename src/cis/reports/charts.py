"""Charts of report tables, drawn on the server by matplotlib as SVG that needs no stylesheet.

The page shows a chart as `<img src=".../chart.svg">` with the same figures in a table beside
it, so it works without JavaScript and under a Content-Security-Policy that allows no inline
style: matplotlib writes its SVG with `style` attributes and a `<style>` element, which are
rewritten here into SVG presentation attributes (`fill="..."`), which CSP does not govern.
"""

from __future__ import annotations

import io
import threading
import xml.etree.ElementTree as ET  # noqa: S405 - parses only the SVG matplotlib just wrote
from typing import Any

import matplotlib

matplotlib.use("svg")  # no display, no GUI toolkit: the server only writes files

from matplotlib.figure import Figure  # noqa: E402 - after choosing the backend
from matplotlib.ticker import MaxNLocator  # noqa: E402

from .tables import Table  # noqa: E402

SVG = "http://www.w3.org/2000/svg"
XLINK = "http://www.w3.org/1999/xlink"
ET.register_namespace("", SVG)
ET.register_namespace("xlink", XLINK)

# NHS.UK colours: blue, warm yellow, dark grey; then the palette's green and purple.
COLOURS = ("#005eb8", "#ffb81c", "#425563", "#007f3b", "#330072")
RC: dict[str, Any] = {
    "svg.fonttype": "none",  # text stays text: selectable, and read by screen readers' tools
    "svg.hashsalt": "cis-report",  # the same chart gives the same bytes
    # Measured with the font matplotlib ships (no lookups, no warnings); shown in the browser
    # with the NHS.UK font stack (FONT_STACK), which the text's attributes name instead.
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
FONT_STACK = "Frutiger W01, Arial, sans-serif"
# matplotlib's global state (rcParams) is not thread-safe; gunicorn threads share it.
_lock = threading.Lock()


def _presentation_attributes(svg: bytes) -> bytes:
    """Move every `style="a: b; ..."` into attributes, and the `<style>` element's rules (which
    apply to every element) onto the root, from where SVG attributes inherit."""
    root = ET.fromstring(svg)  # noqa: S314 - our own output, not input from anyone
    for parent in root.iter():
        for child in list(parent):
            if child.tag == f"{{{SVG}}}style":
                text = child.text or ""
                rules = text[text.find("{") + 1 : text.rfind("}")]
                _apply(root, rules)
                parent.remove(child)
    for element in root.iter():
        style = element.attrib.pop("style", None)
        if style:
            _apply(element, style)
        if "font-family" in element.attrib:
            element.set("font-family", FONT_STACK)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _apply(element: ET.Element, declarations: str) -> None:
    for declaration in declarations.split(";"):
        name, _, value = declaration.partition(":")
        if name.strip() and value.strip():
            element.set(name.strip(), value.strip())


def chart_svg(table: Table, *, title: str = "") -> bytes:
    """A bar chart of the table's chart columns (grouped, or stacked), as SVG bytes."""
    spec = table.chart
    if spec is None:
        raise ValueError(f"table {table.key} has no chart")
    labels = {c.key: c.label for c in table.columns}
    categories = [str(row.get(spec.category, "")) for row in table.rows]
    with _lock, matplotlib.rc_context(RC):  # type: ignore[arg-type] # keys are checked by name
        figure = Figure(figsize=(7.2, 3.6), layout="constrained")
        axes = figure.subplots()
        positions = [float(n) for n in range(len(categories))]
        count = len(spec.series)
        width = 0.8 if spec.stacked else 0.8 / count
        bottoms: list[float] = [0.0] * len(categories)
        for index, key in enumerate(spec.series):
            values = [float(str(row.get(key) or 0)) for row in table.rows]
            shift = 0.0 if spec.stacked else width * (index + 0.5) - 0.4
            xs = [p + shift for p in positions]
            axes.bar(
                xs,
                values,
                width=width,
                bottom=bottoms if spec.stacked else None,
                label=labels[key],
                color=COLOURS[index % len(COLOURS)],
            )
            if spec.stacked:
                bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
        axes.set_xticks(positions, categories, rotation=45 if len(categories) > 6 else 0)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylabel(spec.y_label)
        if title:
            axes.set_title(title, loc="left")
        if count > 1:
            axes.legend(frameon=False)
        out = io.BytesIO()
        figure.savefig(out, format="svg", metadata={"Date": None})
    return _presentation_attributes(out.getvalue())
