"""DynamoDB attribute values to and from plain Python values (the subset the table uses).

The control API talks to DynamoDB through the low-level client (no boto3 resource layer:
it is slower to create and hides the exact condition expressions), so encoding lives here,
apart from the table's access patterns in ``store.py``.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

log = logging.getLogger(__name__)


def to_av(value: Any) -> dict[str, Any]:
    """Python value to a DynamoDB AttributeValue (the subset this table uses).

    Numbers travel as text: ints as is, Decimals and finite floats in their exact decimal form
    (DynamoDB numbers are decimal; a float's ``repr`` is its shortest round-trip text).
    """
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, (float, Decimal)):
        number = Decimal(repr(value)) if isinstance(value, float) else value
        if not number.is_finite():
            raise TypeError("DynamoDB numbers must be finite")
        return {"N": str(number)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, dict):
        return {"M": {str(k): to_av(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [to_av(v) for v in value]}
    raise TypeError(f"unsupported attribute type {type(value).__name__}")


def from_av(av: dict[str, Any]) -> Any:
    """DynamoDB AttributeValue to a Python value (numbers: int when integral, else float)."""
    if "S" in av:
        return av["S"]
    if "N" in av:
        text = av["N"]
        return int(text) if text.lstrip("-").isdigit() else float(text)
    if "BOOL" in av:
        return av["BOOL"]
    if "NULL" in av:
        return None
    if "M" in av:
        return {k: from_av(v) for k, v in av["M"].items()}
    if "L" in av:
        return [from_av(v) for v in av["L"]]
    raise TypeError("unsupported attribute value")


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item to a plain dict."""
    return {k: from_av(v) for k, v in item.items()}


def parse_item(item: dict[str, Any]) -> dict[str, Any] | None:
    """Like from_item, but an item this code cannot read is logged and returned as None.

    The table is shared with nothing else, but one bad item (written by hand, by an older
    version, or by anything that once had write access) must not break listing or the reaper.
    """
    try:
        return from_item(item)
    except Exception as exc:
        key = item.get("pk", {}).get("S", "?") if isinstance(item.get("pk"), dict) else "?"
        log.warning("skipping unreadable item %s: %s", str(key)[:80], exc)
        return None


def set_expression(values: dict[str, Any], template: str = "#a{i} = :v{i}") -> dict[str, Any]:
    """``SET`` UpdateExpression plus its attribute names and values for ``values``.

    Attribute names are always aliased (``#a0``...) because several of ours (``status``,
    ``result``) are DynamoDB reserved words.
    """
    names = {f"#a{i}": k for i, k in enumerate(values)}
    exprs = {f":v{i}": to_av(v) for i, v in enumerate(values.values())}
    update = "SET " + ", ".join(template.format(i=i) for i in range(len(values)))
    return {
        "UpdateExpression": update,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": exprs,
    }
